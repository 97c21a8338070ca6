"""`audio_folder`: class sub-folders of WAV files -> waveforms [C, S] and a class.

params: path (required), sample_rate (16000: every clip is resampled to it).
C and S come from the graph's Input (default [1, sample_rate], one second); clips are
mixed down or repeated to C channels and cropped or zero-padded at the end to S samples.
Sets small enough are decoded once, up front; larger ones per item.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from workbench.core.tensors import INT, TensorInfo
from workbench.data.bundle import DataBundle, DataError
from workbench.data.datasets import materialise
from workbench.data.request import EAGER_FILE_BYTES, Request, dataset_bundle, tensor_bundle
from workbench.data.sources.waveforms import clip_shape
from workbench.data.sources.wavfile import load_clip
from workbench.data.splits import split_indices

class WavSet(Dataset):
    """WAV files read per item: files are (path, class index)."""

    def __init__(self, files: list[tuple[str, int]], sample_rate: int, channels: int, length: int) -> None:
        self.files = files
        self.sample_rate = sample_rate
        self.channels = channels
        self.length = length

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        path, label = self.files[index]
        clip = load_clip(path, self.sample_rate, self.channels, self.length)
        return (clip,), torch.tensor(label, dtype=torch.int64)


def wav_bundle(train: WavSet, val: WavSet | None, *, classes: list[str], source: str, description: str) -> DataBundle:
    """In memory when small enough, else lazy."""
    meta = dict(
        task="classification",
        names=("waveform",),
        source=source,
        modality="waveforms",
        classes=classes,
        description=description,
        extra={"sample_rate": train.sample_rate},
    )
    n = len(train) + (len(val) if val is not None else 0)
    if n * train.channels * train.length * 4 <= EAGER_FILE_BYTES:
        return tensor_bundle(materialise(train), materialise(val) if val is not None and len(val) else None, **meta)
    return dataset_bundle(
        train,
        val if val is not None and len(val) else None,
        input_infos=(TensorInfo((train.channels, train.length)),),
        target_info=TensorInfo((), INT),
        **meta,
    )


def list_classes(root: Path) -> tuple[list[str], list[tuple[str, int]]]:
    classes, files = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        clips = sorted(str(f) for f in folder.iterdir() if f.is_file() and f.suffix.lower() == ".wav")
        if clips:
            files += [(f, len(classes)) for f in clips]
            classes.append(folder.name)
    return classes, files


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"path", "sample_rate"})
    root = params.path("path", request.base_dir, kind="folder")
    sample_rate = params.int("sample_rate", 16000, minimum=100)
    channels, length = clip_shape(request, sample_rate)
    classes, files = list_classes(root)
    if len(classes) < 2:
        raise DataError(f"{params.field('path')} {root} needs two or more class sub-folders of .wav files; found {len(classes)}")
    train_idx, val_idx = split_indices(len(files), request.val_fraction, request.seed)
    train = WavSet([files[i] for i in train_idx.tolist()], sample_rate, channels, length)
    val = WavSet([files[i] for i in val_idx.tolist()], sample_rate, channels, length)
    return wav_bundle(
        train,
        val,
        classes=classes,
        source=f"audio_folder '{root.name}'",
        description=f"{root}: {len(train)} training and {len(val)} validation clips of {length} samples at {sample_rate} Hz",
    )
