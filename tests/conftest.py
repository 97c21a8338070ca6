"""Test-wide set-up: headless Qt, and nothing written outside a temp folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Settings, caches and run folders go to a fresh temp dir for every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(home / "torch"))
    yield home


@pytest.fixture(scope="session")
def resnet18_torch_home(tmp_path_factory) -> Path:
    """A TORCH_HOME holding a freshly initialised resnet18 state dict where torch.hub would
    cache the DEFAULT ImageNet weights (<TORCH_HOME>/hub/checkpoints/<basename of the url>),
    so "imagenet" backbones work offline in tests. Built once per session (~45 MB)."""
    import torch
    import torchvision

    home = tmp_path_factory.mktemp("torch_home")
    name = os.path.basename(torchvision.models.ResNet18_Weights.DEFAULT.url)
    target = home / "hub" / "checkpoints" / name
    target.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), target)
    return home


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.cuda` tests skip on a machine without a CUDA device."""
    cuda_items = [item for item in items if item.get_closest_marker("cuda")]
    if not cuda_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in cuda_items:
        item.add_marker(skip)
