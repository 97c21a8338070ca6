"""Augmentation of the training split: the project's `augment` list, applied per item.

Each entry is {"type": ..., params}. Image types (torchvision.transforms.v2, on [C, H, W]):
  random_crop (padding=4, padding_mode="constant"; size, if given, must be the image size),
  horizontal_flip (p=0.5), rotation (degrees=15),
  color_jitter (brightness, contrast, saturation, hue; brightness=contrast=0.2 if none given).
Waveform types ([C, S]): time_shift (max=0.1 of the clip, zero-filled),
  gain (min_db=-6, max_db=6). Any float input: noise (snr in dB, or std; default snr=20).
Type names are matched loosely: "RandomCrop", "random_crop" and "randomcrop" are one type.

Image transforms run on pixel values in [0, 1] (the source's standardisation is undone
and redone around them, using extra["mean"]/["std"]), so padding and fill are black.

Reproducible: item i in epoch e is augmented from a seed made of (seed, e, i), whatever
the worker or order. The Trainer calls `bundle.train.set_epoch(e)` (when the train set has
it) before each epoch's iteration; without that call every epoch sees the epoch-0 draws.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch.utils.data import Dataset

from workbench.data.bundle import DataBundle, DataError
from workbench.data.params import Params
from workbench import lazy

IMAGE, AUDIO, ANY = ("images",), ("waveforms",), ("images", "waveforms", "features")

# loose name -> (canonical type, modalities it applies to, parameters)
TYPES = {
    "randomcrop": ("random_crop", IMAGE, {"padding", "size", "padding_mode"}),
    "horizontalflip": ("horizontal_flip", IMAGE, {"p"}),
    "rotation": ("rotation", IMAGE, {"degrees"}),
    "colorjitter": ("color_jitter", IMAGE, {"brightness", "contrast", "saturation", "hue"}),
    "timeshift": ("time_shift", AUDIO, {"max"}),
    "noise": ("noise", ANY, {"snr", "std"}),
    "gain": ("gain", AUDIO, {"min_db", "max_db"}),
}
ALIASES = {
    "crop": "randomcrop",
    "flip": "horizontalflip",
    "hflip": "horizontalflip",
    "randomhorizontalflip": "horizontalflip",
    "randomrotation": "rotation",
    "rotate": "rotation",
    "colourjitter": "colorjitter",
    "shift": "timeshift",
    "gaussiannoise": "noise",
    "addnoise": "noise",
}


@dataclass(frozen=True)
class AugmentSpec:
    type: str  # canonical name
    modalities: tuple[str, ...]
    params: dict
    where: str  # "data.augment[0]"


def parse_augment(items) -> list[AugmentSpec]:
    """Validate the `augment` list (types and parameter values) without any data."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise DataError(f"data.augment must be a list of {{\"type\": ...}} entries, got {type(items).__name__}")
    specs = []
    for i, item in enumerate(items):
        where = f"data.augment[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise DataError(f'{where} must be an object with a "type", got {item!r}')
        key = "".join(ch for ch in item["type"].lower() if ch.isalnum())
        key = ALIASES.get(key, key)
        if key not in TYPES:
            known = ", ".join(t for t, _, _ in TYPES.values())
            raise DataError(f"{where}.type {item['type']!r} is not a known augmentation; choose one of {known}")
        name, modalities, known_params = TYPES[key]
        params = Params({k: v for k, v in item.items() if k != "type"}, f"the {name} augmentation", where)
        params.check_known(known_params)
        specs.append(AugmentSpec(name, modalities, _read(name, params), where))
    return specs


def _read(name: str, p: Params) -> dict:
    if name == "random_crop":
        size = p.raw("size", None)
        if size is not None:
            size = [size, size] if isinstance(size, int) and not isinstance(size, bool) else size
            if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
                raise p.error("size", f"must be a whole number or [height, width], got {size!r}")
        modes = ["constant", "edge", "reflect", "symmetric"]
        return {"padding": p.int("padding", 4, minimum=0), "size": size, "padding_mode": p.str("padding_mode", "constant", modes)}
    if name == "horizontal_flip":
        return {"p": p.float("p", 0.5, minimum=0.0, maximum=1.0)}
    if name == "rotation":
        return {"degrees": p.float("degrees", 15.0, minimum=0.0, maximum=180.0)}
    if name == "color_jitter":
        values = {k: p.float(k, 0.0, minimum=0.0) for k in ("brightness", "contrast", "saturation")}
        values["hue"] = p.float("hue", 0.0, minimum=0.0, maximum=0.5)
        if not any(values.values()):
            values.update(brightness=0.2, contrast=0.2)
        return values
    if name == "time_shift":
        return {"max": p.float("max", 0.1, minimum=0.0, maximum=1.0)}
    if name == "noise":
        if "snr" in p and "std" in p:
            raise p.error("std", "and snr both set; give one: snr (dB, relative to the signal) or std (absolute)")
        if "std" in p:
            return {"std": p.float("std", minimum=0.0)}
        return {"snr": p.float("snr", 20.0)}
    lo, hi = p.float("min_db", -6.0), p.float("max_db", 6.0)
    if lo > hi:
        raise p.error("min_db", f"({lo}) must not exceed max_db ({hi})")
    return {"min_db": lo, "max_db": hi}


def apply_augmentation(bundle: DataBundle, specs: list[AugmentSpec], seed: int) -> DataBundle:
    """Wrap the train set; both tensor views are dropped so the Trainer uses the Datasets."""
    if len(bundle.input_infos) != 1:
        raise DataError(f"data.augment works on data with one input; {bundle.source} has {len(bundle.input_infos)}")
    info = bundle.input_infos[0]
    for spec in specs:
        if bundle.modality not in spec.modalities or info.dtype != "float32":
            wanted = " or ".join(spec.modalities)
            raise DataError(f"{spec.where} {spec.type} applies to {wanted}, but {bundle.source} gives {bundle.modality} {list(info.shape)}")
        _check_shape(spec, info.shape)
    pipeline = Pipeline(specs, info.shape, bundle.extra.get("mean"), bundle.extra.get("std"))
    train = AugmentedSet(bundle.train, pipeline, seed, reconstruction=bundle.task == "reconstruction")
    return replace(
        bundle,
        train=train,
        train_tensors=None,
        val_tensors=None,
        extra={**bundle.extra, "augment": [spec.type for spec in specs]},
    )


def _check_shape(spec: AugmentSpec, shape: tuple[int, ...]) -> None:
    if spec.modalities == IMAGE and len(shape) != 3:
        raise DataError(f"{spec.where} {spec.type} needs [C, H, W] images, got {list(shape)}")
    if spec.modalities == AUDIO and len(shape) != 2:
        raise DataError(f"{spec.where} {spec.type} needs [C, S] waveforms, got {list(shape)}")
    if spec.type == "random_crop" and spec.params["size"] not in (None, list(shape[1:])):
        raise DataError(
            f"{spec.where} random_crop size {spec.params['size']} would change the {shape[1]}x{shape[2]} images; "
            "leave size out to crop back to the image size after padding"
        )
    if spec.type == "color_jitter" and shape[0] not in (1, 3):
        raise DataError(f"{spec.where} color_jitter needs 1 or 3 channels, got {shape[0]}")


class Pipeline:
    """The specs as one callable on a single (un-batched) input tensor. Picklable."""

    def __init__(self, specs: list[AugmentSpec], shape: tuple[int, ...], mean=None, std=None) -> None:
        self.specs = list(specs)
        self.shape = tuple(shape)
        image_specs = [s for s in specs if s.modalities == IMAGE]
        self.images = _image_transforms(image_specs, self.shape) if image_specs else None
        channels = shape[0] if len(shape) == 3 else 1
        self.mean = torch.tensor(mean or [0.0], dtype=torch.float32).reshape(-1, 1, 1).expand(channels, 1, 1).clone()
        self.std = torch.tensor(std or [1.0], dtype=torch.float32).reshape(-1, 1, 1).expand(channels, 1, 1).clone()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Image transforms first, then the others in list order. Draws from the global CPU
        generator: call it inside a seeded fork, as AugmentedSet does."""
        if self.images is not None:
            x = self.images(x * self.std + self.mean)
            x = (x - self.mean) / self.std
        for spec in self.specs:
            if spec.modalities != IMAGE:
                x = _WAVE_OPS[spec.type](x, spec.params)
        return x


def _image_transforms(specs: list[AugmentSpec], shape: tuple[int, ...]):
    v2 = lazy.load("torchvision.transforms.v2")  # imported only when images are augmented

    steps = []
    for spec in specs:
        p = spec.params
        if spec.type == "random_crop":
            steps.append(v2.RandomCrop(list(shape[1:]), padding=p["padding"] or None, padding_mode=p["padding_mode"]))
        elif spec.type == "horizontal_flip":
            steps.append(v2.RandomHorizontalFlip(p["p"]))
        elif spec.type == "rotation":
            steps.append(v2.RandomRotation(p["degrees"]))
        else:
            steps.append(v2.ColorJitter(p["brightness"], p["contrast"], p["saturation"], p["hue"]))
    return v2.Compose(steps)


def _time_shift(x: torch.Tensor, p: dict) -> torch.Tensor:
    limit = int(p["max"] * x.shape[-1])
    if limit == 0:
        return x
    shift = int(torch.randint(-limit, limit + 1, ()).item())
    out = torch.zeros_like(x)
    if shift >= 0:
        out[..., shift:] = x[..., : x.shape[-1] - shift]
    else:
        out[..., :shift] = x[..., -shift:]
    return out


def _noise(x: torch.Tensor, p: dict) -> torch.Tensor:
    if "std" in p:
        std = p["std"]
    else:
        power = float(x.pow(2).mean())
        std = (power / 10 ** (p["snr"] / 10)) ** 0.5
    return x + torch.randn(x.shape) * std


def _gain(x: torch.Tensor, p: dict) -> torch.Tensor:
    db = p["min_db"] + (p["max_db"] - p["min_db"]) * float(torch.rand(()))
    return x * 10 ** (db / 20)


_WAVE_OPS = {"time_shift": _time_shift, "noise": _noise, "gain": _gain}


def item_seed(seed: int, epoch: int, index: int) -> int:
    return (seed * 0x9E3779B1 + epoch * 0x85EBCA77 + index * 0xC2B2AE3D + 0x27D4EB2F) % 2**63


class AugmentedSet(Dataset):
    """The train set with its single input augmented; the same (seed, epoch, index) always
    gives the same result. With `reconstruction` the augmented input is also the target.

    The epoch lives in a shared-memory tensor, so `set_epoch` reaches DataLoader workers
    that already hold a copy of the set (persistent workers) as long as it is called before
    the epoch's `iter(loader)`.
    """

    def __init__(self, base: Dataset, pipeline: Pipeline, seed: int, reconstruction: bool = False) -> None:
        self.base = base
        self.pipeline = pipeline
        self.seed = int(seed)
        self.reconstruction = reconstruction
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        self._epoch[0] = int(epoch)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        inputs, target = self.base[index]
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(item_seed(self.seed, self.epoch, int(index)))
            x = self.pipeline(inputs[0])
        return (x,), (x if self.reconstruction else target)
