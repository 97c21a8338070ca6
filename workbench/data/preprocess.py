"""`preprocess.json`: what a run's data source did to each sample, so a trained model can be
fed the user's own input exactly as it saw validation data (workbench.inference reads it).

Plain JSON, one entry per graph Input, its `kind` saying how raw input becomes that tensor:
  image     a picture -> [C, H, W]: greyscale/RGB by C, resized ("pil": PIL bilinear on
            uint8 as image_folder reads files; "tensor": antialiased bilinear on [0, 1]
            floats as the in-memory sources resize), then (x - mean) / std per channel;
  waveform  a clip -> [C, S] at `sample_rate`, mixed down or repeated, cut or zero-padded;
  text      words or characters -> ids through `vocab` (the training split's), cut or padded;
  ids       whitespace-separated token ids below `vocab_size`, cut or padded;
  features  named columns, standardised by the training split's mean and std (min and max
            are the raw training range, for sliders);
  tensor    anything else: only already-preprocessed tensors can be fed.
Built from the loaded DataBundle, so it is the same whether written at training time or
rebuilt later from the run's project and seed.
"""

from __future__ import annotations

import torch

from workbench.core.tensors import FLOAT, INT
from workbench.data.bundle import DataBundle

__all__ = ["PREPROCESS_FILE", "FORMAT", "VERSION", "preprocess_record"]

PREPROCESS_FILE = "preprocess.json"
FORMAT = "workbench-preprocess"
VERSION = 1


def preprocess_record(bundle: DataBundle) -> dict:
    """The plain-JSON preprocessing record of a loaded bundle."""
    extra = bundle.extra
    inputs = [_input_entry(bundle, i, name) for i, name in enumerate(bundle.input_names)]
    record = {
        "format": FORMAT,
        "version": VERSION,
        "source": bundle.source,
        "task": bundle.task,
        "modality": bundle.modality,
        "classes": list(bundle.classes) if bundle.classes is not None else None,
        "target_width": bundle.target_width,
        "inputs": inputs,
    }
    for key in ("pad_index", "bos_index", "eos_index", "vocab_size"):
        if isinstance(extra.get(key), int):
            record[key] = int(extra[key])
    return record


def _input_entry(bundle: DataBundle, position: int, name: str) -> dict:
    info = bundle.input_infos[position] if position < len(bundle.input_infos) else None
    entry: dict = {"name": name}
    if info is None:
        return {**entry, "kind": "tensor"}
    entry.update(shape=[int(d) for d in info.shape], dtype=info.dtype)
    extra, rank = bundle.extra, len(info.shape)
    if bundle.modality == "images" and rank == 3 and info.dtype == FLOAT:
        c = int(info.shape[0])
        mean, std = _per_channel(extra.get("mean"), c, 0.0), _per_channel(extra.get("std"), c, 1.0)
        resample = "pil" if bundle.source.startswith("image_folder") else "tensor"
        return {**entry, "kind": "image", "mean": mean, "std": std, "resample": resample}
    if bundle.modality == "waveforms" and rank == 2 and info.dtype == FLOAT:
        return {**entry, "kind": "waveform", "sample_rate": int(extra.get("sample_rate", 16000))}
    if rank == 1 and info.dtype == INT and isinstance(extra.get("vocab"), list):
        return {**entry, "kind": "text", "vocab": [str(t) for t in extra["vocab"]],
                "tokenizer": extra.get("split", "word"), "lowercase": bool(extra.get("lowercase", True)),
                "pad_index": int(extra.get("pad_index", 0)), "unk_index": int(extra.get("unk_index", 1))}
    if rank == 1 and info.dtype == INT:
        return {**entry, "kind": "ids", "vocab_size": extra.get("vocab_size"), "pad_index": int(extra.get("pad_index", 0))}
    if bundle.modality == "features" and rank == 1 and info.dtype == FLOAT:
        return {**entry, "kind": "features", "columns": _columns(bundle, position, name, int(info.shape[0]))}
    return {**entry, "kind": "tensor"}


def _per_channel(values, channels: int, default: float) -> list[float]:
    if isinstance(values, (list, tuple)) and len(values) == channels:
        return [float(v) for v in values]
    if isinstance(values, (list, tuple)) and len(values) == 1:
        return [float(values[0])] * channels
    return [default] * channels


def _columns(bundle: DataBundle, position: int, name: str, width: int) -> list[dict]:
    """Per feature: its name (the CSV's, else `<input>_<i>`), standardisation and raw range."""
    extra = bundle.extra
    names = extra.get("features") if isinstance(extra.get("features"), list) else None
    if names is None or len(names) != width:
        names = [f"{name}_{i}" for i in range(width)]
    mean = _per_channel(extra.get("feature_mean"), width, 0.0)
    std = _per_channel(extra.get("feature_std"), width, 1.0)
    low, high = [0.0] * width, [0.0] * width
    if bundle.train_tensors is not None:
        x = bundle.train_tensors[0][position].to(torch.float64).reshape(-1, width)
        raw = x * torch.tensor(std, dtype=torch.float64) + torch.tensor(mean, dtype=torch.float64)
        if len(raw):
            low, high = raw.min(0).values.tolist(), raw.max(0).values.tolist()
    return [{"name": str(n), "mean": m, "std": s, "min": lo, "max": hi}
            for n, m, s, lo, hi in zip(names, mean, std, low, high)]
