"""WAV files without a codec library: the stdlib `wave` module for integer PCM, and a small
RIFF reader for what `wave` refuses (32/64-bit float, WAVE_FORMAT_EXTENSIBLE).

torchaudio.load needs TorchCodec, which is not a dependency, so clips are read here and
only resampling (torchaudio.functional.resample) comes from torchaudio.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import torch

from workbench.data.bundle import DataError

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE


def read_wav(path) -> tuple[np.ndarray, int]:
    """(float32 [channels, frames] in [-1, 1], sample rate); DataError when unreadable."""
    try:
        with wave.open(str(path), "rb") as handle:
            channels, width, rate = handle.getnchannels(), handle.getsampwidth(), handle.getframerate()
            raw = handle.readframes(handle.getnframes())
        return _decode(raw, PCM, width, channels), rate
    except wave.Error:
        return _read_riff(Path(path))
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"cannot read audio file {path}: {exc}") from exc


def _decode(raw: bytes, tag: int, width: int, channels: int) -> np.ndarray:
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if tag == FLOAT and width in (4, 8):
        data = np.frombuffer(raw, dtype=f"<f{width}").astype(np.float32)
    elif tag == PCM and width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == PCM and width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif tag == PCM and width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 8388608.0
    elif tag == PCM and width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        raise ValueError(f"unsupported WAV encoding (format {tag}, {8 * width}-bit)")
    return data.reshape(-1, channels).T.copy()


def _read_riff(path: Path) -> tuple[np.ndarray, int]:
    try:
        blob = path.read_bytes()
        if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
            raise ValueError("not a RIFF/WAVE file")
        fmt, data, pos = None, None, 12
        while pos + 8 <= len(blob):
            chunk, size = blob[pos : pos + 4], struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
            body = blob[pos + 8 : pos + 8 + size]
            if chunk == b"fmt ":
                fmt = body
            elif chunk == b"data":
                data = body
            pos += 8 + size + (size & 1)
        if fmt is None or data is None:
            raise ValueError("no fmt or data chunk")
        tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]  # first field of the sub-format GUID
        return _decode(data, tag, bits // 8, channels), rate
    except (OSError, ValueError, struct.error) as exc:
        raise DataError(f"cannot read audio file {path}: {exc}") from exc


def fit_clip(clip: torch.Tensor, channels: int, length: int, path) -> torch.Tensor:
    """[C, L] -> [channels, length]: mixed down or repeated, cropped or zero-padded at the end."""
    if clip.shape[0] != channels:
        if channels == 1:
            clip = clip.mean(0, keepdim=True)
        elif clip.shape[0] == 1:
            clip = clip.expand(channels, -1)
        else:
            raise DataError(f"{path} has {clip.shape[0]} channels; the Input asks for {channels}")
    if clip.shape[1] >= length:
        return clip[:, :length].contiguous()
    return torch.nn.functional.pad(clip, (0, length - clip.shape[1]))


def load_clip(path, sample_rate: int, channels: int, length: int) -> torch.Tensor:
    """A WAV file as float32 [channels, length] at `sample_rate`."""
    data, rate = read_wav(path)
    clip = torch.from_numpy(data)
    if rate != sample_rate:
        import torchaudio.functional  # only when a file needs it

        clip = torchaudio.functional.resample(clip, rate, sample_rate)
    return fit_clip(clip, channels, length, path)
