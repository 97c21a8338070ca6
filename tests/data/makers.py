"""Tiny data files made on the fly for the data tests (no downloads, no fixtures files)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from workbench.core.tensors import TensorInfo

IMAGE_8 = {"image": TensorInfo((1, 8, 8))}


def png_folder(root: Path, classes=("cat", "dog"), per_class: int = 5, size=(10, 12)) -> Path:
    """Class sub-folders of small RGB PNGs; class k is uniformly bright (60 + 120 k)."""
    from PIL import Image

    for k, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.full((*size, 3), 60 + 120 * k + i, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    """Integer PCM through the stdlib wave module; samples float [-1, 1], [frames] or [frames, channels]."""
    samples = samples.reshape(len(samples), -1)
    scale = {1: 127, 2: 32767, 3: 8388607, 4: 2147483647}[width]
    ints = np.round(samples * scale).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 3:
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints.reshape(-1))
    else:
        raw = ints.astype(f"<i{width}").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(samples.shape[1])
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(raw)
    return path


def write_float_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """32-bit IEEE float WAV (format 3), which the wave module refuses."""
    samples = samples.reshape(len(samples), -1).astype("<f4")
    channels = samples.shape[1]
    data = samples.tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 4, channels * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def tone(freq: float, rate: int, frames: int) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * freq * np.arange(frames) / rate)


def wav_folder(root: Path, rate: int = 8000, frames: int = 400, per_class: int = 4) -> Path:
    for name, freq in (("high", 2000.0), ("low", 200.0)):
        for i in range(per_class):
            write_wav(root / name / f"{i}.wav", tone(freq, rate, frames), rate)
    return root


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fake_mnist(root: Path, n_train: int = 20, n_test: int = 6, name: str = "MNIST") -> Path:
    """The four raw idx files torchvision's MNIST reads (random pixels, labels i % 10)."""
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.tobytes())
    return root


def fake_speechcommands(root: Path, words=("no", "yes", "up"), per_word: int = 3) -> Path:
    """<root>/SpeechCommands/speech_commands_v0.02/<word>/<speaker>_nohash_<k>.wav plus the
    validation and testing lists (the first clip of each word validates, the second tests)."""
    base = root / "SpeechCommands" / "speech_commands_v0.02"
    validation, testing = [], []
    for w, word in enumerate(words):
        for i in range(per_word):
            name = f"{word}/spk{i}_nohash_0.wav"
            write_wav(base / name, tone(300.0 + 200 * w, 16000, 800), 16000)
            (validation if i == 0 else testing if i == 1 else []).append(name)
    (base / "validation_list.txt").write_text("\n".join(validation) + "\n")
    (base / "testing_list.txt").write_text("\n".join(testing) + "\n")
    return root
