"""Pretrained-architecture image backbones from torchvision, each one layer.

An input must be a float RGB image [N, 3, H, W]. Any H, W >= 1 runs in eval mode: every
strided convolution and pooling here maps a size H to ceil(H / 2), so the map never
collapses below 1×1 before the adaptive average pool. (Under about 33 pixels the last
stage is 1×1, and BatchNorm then refuses a training step with batch size 1.)

ImageNet weights come from the local torch hub cache only; nothing is ever downloaded.
FLOPs have no closed formula: they are counted once per (arch, head, input size) by
FlopCounterMode over a forward on the meta device, which allocates nothing. That, the
module (workbench/core/modules/backbones.py) and the weights check import torch; the
shape formula does not.
"""

from __future__ import annotations

import os

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.params import BOOL, CHOICE, Param
from workbench.core.tensors import ShapeError, TensorInfo, require_float


# width of the pooled features each architecture feeds its classifier head
FEATURES = {
    "resnet18": 512,
    "resnet34": 512,
    "resnet50": 2048,
    "mobilenet_v3_small": 576,
    "efficientnet_b0": 1280,
}
CLASSES = 1000  # ImageNet


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
            path = _backbones().cached_weights_path(arch)
            if not os.path.exists(path):
                raise ShapeError(
                    f"imagenet weights for {arch} are not in the local torch cache ({path}); "
                    "download them once or set weights to 'none'"
                )
        return [TensorInfo((FEATURES[arch] if p["features_only"] else CLASSES,))]

    return infer


def _backbones():
    """The module that counts FLOPs and parameters on the meta device (imports torch)."""
    from workbench.core.modules import backbones

    return backbones


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
                "'imagenet' needs the weights in the local torch cache (nothing is downloaded); 'none': random",
                choices=("none", "imagenet"),
            ),
            Param("trainable", BOOL, True, "Off freezes every backbone parameter (feature extraction)"),
            Param(
                "features_only", BOOL, False, f"Drop the classifier head and return the {FEATURES[arch]} pooled features"
            ),
        ),
        construct=lambda inputs, p: Constructor("workbench.core.modules.backbones.Backbone", {"arch": arch, **p}),
        infer=_infer(arch),
        flops=lambda i, o, p: _backbones().count_flops(arch, p["features_only"], tuple(i[0].shape)),
        pure=False,  # the imagenet check looks at the torch cache on disk
        count_params=lambda i, p: _backbones().count_params(arch, p["trainable"], p["features_only"]),
    )


SPECS = (
    _backbone("resnet18", "ResNet-18"),
    _backbone("resnet34", "ResNet-34"),
    _backbone("resnet50", "ResNet-50"),
    _backbone("mobilenet_v3_small", "MobileNetV3-Small"),
    _backbone("efficientnet_b0", "EfficientNet-B0"),
)
