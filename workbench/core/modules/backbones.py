"""The module behind the torchvision backbone layers, and what must build it to count.

See workbench/core/layers/vision_backbones.py for the layer specs. FLOPs and parameters
have no closed formula here: they are counted once per configuration on the meta device,
which allocates nothing.
"""

from __future__ import annotations

import functools
import os

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

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


def cached_weights_path(arch: str) -> str:
    """The file torch.hub would download `arch`'s DEFAULT ImageNet weights to."""
    url = torchvision.models.get_model_weights(arch).DEFAULT.url
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


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
