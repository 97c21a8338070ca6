"""Pretrained-architecture image backbones from torchvision, each one layer.

An input must be a float RGB image [N, 3, H, W]. Any H, W >= 1 runs in eval mode: every
strided convolution and pooling here maps a size H to ceil(H / 2), so the map never
collapses below 1×1 before the adaptive average pool. (Under about 33 pixels the last
stage is 1×1, and BatchNorm then refuses a training step with batch size 1.)

ImageNet weights come from the local torch hub cache only; nothing is ever downloaded.
FLOPs have no closed formula: they are counted once per (arch, head, input size) by
FlopCounterMode over a forward on the meta device, which allocates nothing.
"""

from __future__ import annotations

import functools
import os

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.params import BOOL, CHOICE, Param
from workbench.core.tensors import ShapeError, TensorInfo, require_float
from workbench import lazy


class _LazyTorchvision:
    """Stands in for the torchvision module until first use.

    Importing torchvision costs about 1.5 s (it loads torch._dynamo), which building the
    catalog should not pay. The first attribute access imports it and rebinds the global
    name, so Backbone's source can say `torchvision.models` as a standalone file does.
    """

    def __getattr__(self, name):
        global torchvision
        module = lazy.load("torchvision")
        torchvision = module
        return getattr(module, name)


torchvision = _LazyTorchvision()


class Backbone(nn.Module):
    """A torchvision classifier as one layer: [N, 3, H, W] → [N, 1000] logits, or the
    pooled features [N, F] with features_only=True (the classifier head removed).

    weights="imagenet" loads the DEFAULT ImageNet weights from the local torch hub cache
    (never downloads); trainable=False freezes every parameter.
    """

    def __init__(self, arch, weights="none", trainable=True, features_only=False):
        super().__init__()
        if weights not in ("none", "imagenet"):
            raise ValueError(f"weights must be 'none' or 'imagenet', got {weights!r}")
        self.arch = arch
        self.weights = weights
        self.trainable = trainable
        self.features_only = features_only
        model = torchvision.models.get_model(arch, weights=None)
        if weights == "imagenet":
            path = self.weights_path(arch)
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"imagenet weights for {arch} are not in the local torch cache ({path}); "
                    "download them once or set weights to 'none'"
                ) from None
            model.load_state_dict(state)
        if features_only:
            if isinstance(getattr(model, "fc", None), nn.Module):
                model.fc = nn.Identity()
            else:
                model.classifier = nn.Identity()
        if not trainable:
            model.requires_grad_(False)
        self.model = model

    @staticmethod
    def weights_path(arch):
        """Where torch.hub caches the DEFAULT weights of `arch`: <hub>/checkpoints/<file>."""
        url = torchvision.models.get_model_weights(arch).DEFAULT.url
        return torch.hub.get_dir().rstrip("/\\") + "/checkpoints/" + url.rsplit("/", 1)[-1]

    def forward(self, x):
        return self.model(x)

    def extra_repr(self):
        return (
            f"arch={self.arch!r}, weights={self.weights!r}, "
            f"trainable={self.trainable}, features_only={self.features_only}"
        )


# width of the pooled features each architecture feeds its classifier head
FEATURES = {
    "resnet18": 512,
    "resnet34": 512,
    "resnet50": 2048,
    "mobilenet_v3_small": 576,
    "efficientnet_b0": 1280,
}
CLASSES = 1000  # ImageNet


def cached_weights_path(arch: str) -> str:
    """The file torch.hub would download `arch`'s DEFAULT ImageNet weights to."""
    url = torchvision.models.get_model_weights(arch).DEFAULT.url
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def _infer(arch):
    def infer(inputs, p):
        (x,) = inputs
        require_float(arch, x)
        if x.rank != 4:
            raise ShapeError(f"{arch} expects an RGB image [N, 3, H, W] but gets {x}")
        channels, height, width = x.shape
        if channels != 3:
            raise ShapeError(
                f"{arch} expects 3 input channels (RGB) but gets {channels}: {x}; insert a Conv2d with "
                "out_channels=3 (kernel_size=1) before it, or change the Input to 3 channels"
            )
        if height < 1 or width < 1:
            raise ShapeError(f"{arch} needs an image of at least 1×1 but gets {x}")
        if p["weights"] == "imagenet":
            path = cached_weights_path(arch)
            if not os.path.exists(path):
                raise ShapeError(
                    f"imagenet weights for {arch} are not in the local torch cache ({path}); "
                    "download them once or set weights to 'none'"
                )
        return [TensorInfo((FEATURES[arch] if p["features_only"] else CLASSES,))]

    return infer


@functools.lru_cache(maxsize=256)
def count_flops(arch: str, features_only: bool, shape: tuple[int, ...]) -> int:
    """FLOPs of one sample of `shape` through the backbone, counted on the meta device."""
    with torch.device("meta"):
        model = Backbone(arch, features_only=features_only)
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.empty((1, *shape), device="meta"))
    return counter.get_total_flops()


@functools.lru_cache(maxsize=64)
def count_params(arch: str, trainable: bool, features_only: bool) -> tuple[int, int]:
    """(parameters, trainable) of the architecture, built on meta: no weights are read."""
    with torch.device("meta"):
        model = Backbone(arch, trainable=trainable, features_only=features_only)
    total = sum(p.numel() for p in model.parameters())
    return total, sum(p.numel() for p in model.parameters() if p.requires_grad)


def _backbone(arch: str, title: str) -> LayerSpec:
    return LayerSpec(
        name=arch,
        category="vision backbones",
        doc=(
            f"{title} from torchvision: RGB image [N, 3, H, W] → [N, {CLASSES}] ImageNet logits, "
            f"or pooled features [N, {FEATURES[arch]}] with features_only."
        ),
        params=(
            Param(
                "weights",
                CHOICE,
                "none",
                "'imagenet' loads the pretrained weights from the local torch cache (never downloads)",
                choices=("none", "imagenet"),
            ),
            Param("trainable", BOOL, True, "Off freezes every backbone parameter (feature extraction)"),
            Param(
                "features_only", BOOL, False, f"Drop the classifier head and return the {FEATURES[arch]} pooled features"
            ),
        ),
        construct=lambda inputs, p: Constructor(Backbone, {"arch": arch, **p}),
        infer=_infer(arch),
        flops=lambda i, o, p: count_flops(arch, p["features_only"], tuple(i[0].shape)),
        pure=False,  # the imagenet check looks at the torch cache on disk
        count_params=lambda i, p: count_params(arch, p["trainable"], p["features_only"]),
    )


SPECS = (
    _backbone("resnet18", "ResNet-18"),
    _backbone("resnet34", "ResNet-34"),
    _backbone("resnet50", "ResNet-50"),
    _backbone("mobilenet_v3_small", "MobileNetV3-Small"),
    _backbone("efficientnet_b0", "EfficientNet-B0"),
)
