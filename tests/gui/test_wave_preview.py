"""The Data dock on a waveform set: the sample count it shows is the one used, and each
thumbnail can be read (cycles on top, a spectrogram below), not a solid block."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel

from tests.gui.test_settings_panels import checked, panels
from workbench.data.sources.synthetic import KINDS
from workbench.paths import EXAMPLES
from workbench.ui.settings_panels.data_panel import SYNTHETIC_KINDS, SYNTHETIC_N
from workbench.ui.settings_panels.preview import WAVE_SIZE, waveform_pixmap
from workbench.ui.settings_panels.wave_thumb import spectrogram

RATE = 16000
T = np.arange(RATE) / RATE


def test_the_panels_sample_counts_are_the_sources_own():
    assert SYNTHETIC_KINDS == list(KINDS)
    assert SYNTHETIC_N == {kind: default_n for kind, (_, _, default_n) in KINDS.items()}


def test_the_speech_examples_data_dock_says_1000_clips_as_used(qtbot, make_window):
    window = make_window(EXAMPLES / "speech_mel_cnn.wbproj")
    _, data = panels(window)
    assert checked(qtbot, data) == []
    assert data.fields["n"].value() == 1000 == len(data.bundle.train) + len(data.bundle.val)
    assert data.preview.histogram.getPlotItem().titleLabel.text.endswith(f"{len(data.bundle.train):,} training samples")
    waves = [w for w in data.preview.grid_box.findChildren(QLabel) if w.pixmap() is not None and not w.pixmap().isNull()]
    assert waves and all((w.pixmap().width(), w.pixmap().height()) == WAVE_SIZE for w in waves)


def top_band_fill(pixmap) -> float:
    """The share of the top band's pixels the waveform line covers."""
    image = pixmap.toImage()
    top = WAVE_SIZE[1] * 2 // 5
    inked = sum(image.pixelColor(x, y).blue() > 150 and image.pixelColor(x, y).alpha() > 100
                for x in range(image.width()) for y in range(top))
    return inked / (image.width() * top)


def test_a_one_second_tone_is_drawn_as_cycles_not_a_block(qtbot):
    sine = 0.8 * np.sin(2 * np.pi * 440 * T)
    fill = top_band_fill(waveform_pixmap(sine[None]))
    assert 0.02 < fill < 0.35, fill  # a line through the band; a min/max envelope of 1 s would fill it


def test_the_spectrogram_tells_a_tone_from_noise():
    sine = np.sin(2 * np.pi * 1000 * T).astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 0.5, RATE).astype(np.float32)
    tone, hiss = spectrogram(sine, 120), spectrogram(noise, 120)
    assert tone.shape[1] >= 100 and tone.shape == hiss.shape
    loud_tone = (tone > -20).mean(axis=1)  # how often each frequency bin is loud
    assert abs(int(loud_tone.argmax()) - round(1000 / (RATE / 2) * (tone.shape[0] - 1))) <= 1  # the 1 kHz row
    assert (loud_tone > 0.5).sum() <= 3 and ((hiss > -20).mean(axis=1) > 0.5).sum() > tone.shape[0] // 2
