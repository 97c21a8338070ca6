"""`workbench predict` on WAV and FLAC files: the mel-spectrogram CNN on synthetic waveforms."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import torch

from tests.inference.predict_runs import example, train
from workbench.cli import main
from workbench.inference.predict import PredictError, Predictor


def write_wav(path, clip: np.ndarray, rate: int) -> None:
    """int16 PCM; clip float [channels, samples] in [-1, 1]."""
    pcm = (np.clip(clip, -1, 1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(clip.shape[0])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.T.tobytes())


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("speech")
    project = example(tmp, "speech_mel_cnn", data={"params": {"kind": "waveforms", "n": 160}}, epochs=1)
    run, bundle = train(project, tmp / "runs")
    return tmp, project, run, bundle


def test_wav_files_are_resampled_mixed_and_fitted_like_training(speech, capsys):
    tmp, project, run, bundle = speech
    (clips,), _ = bundle.val_tensors
    predictor = Predictor.open(project, run)
    assert predictor.modality == "audio" and predictor.classes == ["sine", "square", "sawtooth", "noise"]
    clip = clips[0].numpy()
    write_wav(tmp / "same.wav", clip, 16000)
    write_wav(tmp / "stereo_short.wav", np.stack([clip[0, :8000], clip[0, :8000]]), 16000)
    write_wav(tmp / "at8k.wav", clip[:, ::2], 8000)
    same, short, low = predictor.predict_files([tmp / "same.wav", tmp / "stereo_short.wav", tmp / "at8k.wav"])
    assert torch.allclose(same.model_input, clips[0], atol=1 / 32767)
    assert torch.allclose(short.model_input[0, :8000], clips[0, 0, :8000], atol=1 / 32767)
    assert torch.all(short.model_input[0, 8000:] == 0)  # padded at the end, as training does
    assert low.model_input.shape == (1, 16000)
    direct = predictor.predict_tensors(clips[:1])[0]
    assert same.top[0][0] == direct.top[0][0] and abs(same.top[0][1] - direct.top[0][1]) < 1e-3
    assert main(["predict", str(project.path), "--weights", str(run), str(tmp / "same.wav"), "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("same.wav: " + same.top[0][0])


def test_a_file_that_is_not_audio_is_named(speech, capsys):
    tmp, project, run, _ = speech
    bad = tmp / "notes.wav"
    bad.write_text("hello")
    with pytest.raises(PredictError, match="notes.wav: not an audio file"):
        Predictor.open(project, run).predict_files([bad])
    assert main(["predict", str(project.path), "--weights", str(run), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "notes.wav" in err[0]


def test_flac_files_decode_through_soundfile_like_the_wav(speech):
    soundfile = pytest.importorskip("soundfile")
    tmp, project, run, bundle = speech
    (clips,), _ = bundle.val_tensors
    clip = clips[1].numpy()
    write_wav(tmp / "clip.wav", clip, 16000)
    soundfile.write(str(tmp / "clip.flac"), (np.clip(clip, -1, 1).T * 32767).round().astype("int16"), 16000)
    wav, flac = Predictor.open(project, run).predict_files([tmp / "clip.wav", tmp / "clip.flac"])
    assert torch.allclose(wav.model_input, flac.model_input, atol=1e-4)
    assert wav.top[0][0] == flac.top[0][0]
