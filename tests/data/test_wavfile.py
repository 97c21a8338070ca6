"""The codec-free WAV reader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.data.makers import tone, write_float_wav, write_wav
from workbench.data import DataError
from workbench.data.sources.wavfile import fit_clip, load_clip, read_wav


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_integer_pcm_widths(tmp_path, width):
    signal = tone(440.0, 8000, 200)
    data, rate = read_wav(write_wav(tmp_path / "a.wav", signal, 8000, width))
    assert rate == 8000 and data.shape == (1, 200) and data.dtype == np.float32
    assert np.allclose(data[0], signal, atol=2 / 127 if width == 1 else 1e-4)


def test_float_wav_and_stereo(tmp_path):
    stereo = np.stack([tone(440.0, 8000, 100), -tone(440.0, 8000, 100)], axis=1)
    data, rate = read_wav(write_float_wav(tmp_path / "f.wav", stereo, 8000))
    assert rate == 8000 and data.shape == (2, 100) and np.allclose(data.T, stereo, atol=1e-6)
    mono = load_clip(tmp_path / "f.wav", 8000, 1, 120)
    assert mono.shape == (1, 120) and float(mono.abs().max()) < 1e-6  # the channels cancel


def test_fit_clip_crops_pads_and_refuses_channel_mixing(tmp_path):
    clip = torch.arange(10, dtype=torch.float32).view(1, 10)
    assert fit_clip(clip, 1, 4, "x").tolist() == [[0, 1, 2, 3]]
    assert fit_clip(clip, 2, 12, "x")[1, -3:].tolist() == [9, 0, 0]
    with pytest.raises(DataError, match="x has 3 channels; the Input asks for 2"):
        fit_clip(torch.zeros(3, 5), 2, 5, "x")


def test_unreadable_files(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF1234WAVEjunk")
    with pytest.raises(DataError, match="cannot read audio file .*bad.wav"):
        read_wav(tmp_path / "bad.wav")
    with pytest.raises(DataError, match="cannot read audio file .*gone.wav"):
        read_wav(tmp_path / "gone.wav")
