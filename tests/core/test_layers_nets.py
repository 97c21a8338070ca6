"""A small ViT, a U-Net (Upsample + Concat skips) and a MobileNetV2 block built entirely
from catalog layers: parameter totals (the summary's formulas and the compiled module)
equal the same nets written in torch, and each compiles and runs forward."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.summary import summarize


class Builder:
    """g.add("id", "Type", params, *sources): a source is a node id or (id, output port)."""

    def __init__(self, input_shape):
        self.graph = Graph()
        self.graph.add_node("x", "Input", {"shape": list(input_shape)})

    def add(self, node_id, kind, params=None, *sources):
        self.graph.add_node(node_id, kind, params or {})
        for port, source in enumerate(sources):
            src, out = source if isinstance(source, tuple) else (source, 0)
            self.graph.connect(src, node_id, source_port=out, target_port=port)
        return node_id

    def done(self, last):
        self.add("y", "Output", {}, last)
        return self.graph


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check(graph: Graph, reference: nn.Module, batch_input: torch.Tensor, out_shape):
    summary = summarize(graph)
    model = compile_graph(graph)
    assert summary.total_params == _params(model) == _params(reference)
    with torch.no_grad():
        assert tuple(model(batch_input).shape) == tuple(reference(batch_input).shape) == out_shape


def vit_graph() -> Graph:
    b = Builder((3, 32, 32))
    b.add("patches", "PatchEmbedding", {"embed_dim": 32, "patch_size": 8}, "x")
    b.add("cls", "ClassToken", {}, "patches")
    b.add("pos", "PositionalEncoding", {"kind": "learned", "max_len": 17}, "cls")
    b.add("encoder", "TransformerEncoder", {
        "num_layers": 2, "nhead": 4, "dim_feedforward": 64, "dropout": 0.0, "activation": "gelu",
        "layer_norm_eps": 1e-6, "norm_first": True,
    }, "pos")
    b.add("norm", "LayerNorm", {"eps": 1e-6}, "encoder")
    b.add("token", "Select", {"dim": 1, "index": 0}, "norm")
    return b.done(b.add("head", "Linear", {"out_features": 10}, "token"))


def test_vit_matches_torchvisions_vision_transformer():
    reference = torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=10
    ).eval()
    _check(vit_graph(), reference, torch.randn(2, 3, 32, 32), (2, 10))


def _double_conv(b: Builder, stem: str, channels: int, source: str) -> str:
    b.add(f"{stem}_c1", "Conv2d", {"out_channels": channels, "padding": 1, "bias": False}, source)
    b.add(f"{stem}_n1", "BatchNorm2d", {}, f"{stem}_c1")
    b.add(f"{stem}_r1", "ReLU", {}, f"{stem}_n1")
    b.add(f"{stem}_c2", "Conv2d", {"out_channels": channels, "padding": 1, "bias": False}, f"{stem}_r1")
    b.add(f"{stem}_n2", "BatchNorm2d", {}, f"{stem}_c2")
    return b.add(f"{stem}_r2", "ReLU", {}, f"{stem}_n2")


def unet_graph() -> Graph:
    b = Builder((1, 32, 32))
    e1 = _double_conv(b, "enc1", 8, "x")
    b.add("pool1", "MaxPool2d", {}, e1)
    e2 = _double_conv(b, "enc2", 16, "pool1")
    b.add("pool2", "MaxPool2d", {}, e2)
    mid = _double_conv(b, "mid", 32, "pool2")
    b.add("up2", "Upsample", {"scale_factor": 2.0, "mode": "bilinear", "align_corners": False}, mid)
    b.add("cat2", "Concat", {"dim": 1}, "up2", e2)
    d2 = _double_conv(b, "dec2", 16, "cat2")
    b.add("up1", "Upsample", {"scale_factor": 2.0, "mode": "bilinear", "align_corners": False}, d2)
    b.add("cat1", "Concat", {"dim": 1}, "up1", e1)
    d1 = _double_conv(b, "dec1", 8, "cat1")
    return b.done(b.add("logits", "Conv2d", {"out_channels": 3, "kernel_size": 1}, d1))


class TorchUNet(nn.Module):
    """The same U-Net written by hand."""

    @staticmethod
    def double(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        )

    def __init__(self):
        super().__init__()
        self.enc1, self.enc2, self.mid = self.double(1, 8), self.double(8, 16), self.double(16, 32)
        self.dec2, self.dec1 = self.double(32 + 16, 16), self.double(16 + 8, 8)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False)
        self.logits = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], 1))
        return self.logits(d1)


def test_unet_matches_a_hand_written_one():
    _check(unet_graph(), TorchUNet().eval(), torch.randn(2, 1, 32, 32), (2, 3, 32, 32))


def mobilenet_block_graph(stride: int) -> Graph:
    b = Builder((16, 16, 16))
    b.add("expand", "Conv2d", {"out_channels": 96, "kernel_size": 1, "bias": False}, "x")
    b.add("bn1", "BatchNorm2d", {}, "expand")
    b.add("act1", "ReLU6", {}, "bn1")
    b.add("dw", "Conv2d", {"out_channels": 96, "kernel_size": 3, "stride": stride, "padding": 1, "groups": 96, "bias": False}, "act1")
    b.add("bn2", "BatchNorm2d", {}, "dw")
    b.add("act2", "ReLU6", {}, "bn2")
    b.add("project", "Conv2d", {"out_channels": 16 if stride == 1 else 24, "kernel_size": 1, "bias": False}, "act2")
    last = b.add("bn3", "BatchNorm2d", {}, "project")
    if stride == 1:
        last = b.add("residual", "Add", {}, "x", last)
    return b.done(last)


@pytest.mark.parametrize("stride, out", [(1, 16), (2, 24)])
def test_mobilenet_v2_block_matches_torchvisions_inverted_residual(stride, out):
    from torchvision.models.mobilenetv2 import InvertedResidual

    reference = InvertedResidual(16, out, stride, expand_ratio=6).eval()
    _check(mobilenet_block_graph(stride), reference, torch.randn(2, 16, 16, 16), (2, out, 16 // stride, 16 // stride))
