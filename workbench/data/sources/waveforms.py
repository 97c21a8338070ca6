"""`waveforms`: a 4-class audio task — sine, square, sawtooth and white noise clips.

Each clip has a random frequency (min_freq..max_freq Hz), phase and amplitude (0.2..1.0)
plus a little background noise (`noise`, standard deviation). Clips are [C, S] float32
with S (and C) taken from the graph's Input shape, default [1, sample_rate] = one second.
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.data.bundle import DataError
from workbench.data.request import IN_MEMORY_BYTES, Generated

CLASSES = ["sine", "square", "sawtooth", "noise"]
_CHUNK = 128


def clip_shape(request, default_length: int) -> tuple[int, int]:
    """(channels, samples) from the first Input: [C, S] as given, else [1, default]."""
    info = request.input_info(0)
    if info is not None and len(info.shape) == 2 and info.shape[0] >= 1 and info.shape[1] >= 1:
        return int(info.shape[0]), int(info.shape[1])
    return 1, default_length


def generate(request, params, rng: np.random.Generator, n: int) -> Generated:
    sample_rate = params.int("sample_rate", 16000, minimum=100)
    min_freq = params.float("min_freq", 100.0, minimum=1.0)
    max_freq = params.float("max_freq", 2000.0, minimum=1.0)
    noise = params.float("noise", 0.02, minimum=0.0)
    if min_freq > max_freq:
        raise DataError(f"data.params.min_freq ({min_freq}) must not exceed data.params.max_freq ({max_freq})")
    if max_freq > sample_rate / 2:
        raise DataError(f"data.params.max_freq ({max_freq}) must be at most half the sample rate ({sample_rate / 2:g} Hz)")
    channels, length = clip_shape(request, sample_rate)
    if n * channels * length * 4 > IN_MEMORY_BYTES:
        raise DataError(
            f"{n} waveforms of {channels}x{length} samples need {n * channels * length * 4 / 2**20:.0f} MiB; "
            "lower data.params.n or the Input length"
        )
    labels = np.arange(n) % len(CLASSES)
    freq = rng.uniform(min_freq, max_freq, (n, 1))
    phase = rng.uniform(0.0, 1.0, (n, 1))  # in cycles
    amplitude = rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32)
    clips = np.empty((n, length), dtype=np.float32)
    t = np.arange(length, dtype=np.float64) / sample_rate
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, n))
        cycles = freq[rows] * t + phase[rows]  # float64: exact phase over long clips
        frac = (cycles - np.floor(cycles)).astype(np.float32)
        kind = labels[rows]
        wave = np.empty_like(frac)
        wave[kind == 0] = np.sin(2 * np.pi * frac[kind == 0])
        wave[kind == 1] = np.where(frac[kind == 1] < 0.5, 1.0, -1.0)
        wave[kind == 2] = 2.0 * frac[kind == 2] - 1.0
        wave[kind == 3] = rng.uniform(-1.0, 1.0, ((kind == 3).sum(), length)).astype(np.float32)
        wave *= amplitude[rows]
        if noise > 0:
            wave += noise * rng.standard_normal(wave.shape, dtype=np.float32)
        clips[rows] = wave
    x = torch.from_numpy(clips).unsqueeze(1)
    if channels > 1:
        x = x.expand(-1, channels, -1).contiguous()
    return Generated(
        inputs=(x,),
        target=torch.from_numpy(labels.astype(np.int64)),
        task="classification",
        names=("waveform",),
        modality="waveforms",
        classes=list(CLASSES),
        description=f"{n} synthetic clips of {length} samples at {sample_rate} Hz: sine, square, sawtooth, noise",
        extra={"sample_rate": sample_rate},
    )
