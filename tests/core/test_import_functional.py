"""`workbench import` maps functional calls, Tensor methods and indexing onto catalog layers
(fx_calls): the imported graph has no FxModule and reproduces the model exactly."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.plugins.helpers import fresh_catalog
from workbench.core.compile import compile_graph
from workbench.core.importer import import_model


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: F.layer_norm over channels with the module's weights."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Functional(nn.Module):
    """[N, 4, 6, 6] -> [N, 11]: one functional call of each kind in a small ViT-ish net."""

    def __init__(self):
        super().__init__()
        self.norm = LayerNorm2d(4)
        self.group = nn.GroupNorm(2, 4)
        self.cls = nn.Parameter(torch.randn(1, 1, 4))
        self.pos = nn.Parameter(torch.randn(1, 1 + 72, 4))
        self.fc = nn.Linear(4, 3)
        from torchvision.ops import StochasticDepth

        self.drop_path = StochasticDepth(0.2, "row")  # traced into: a call of the fx-wrapped stochastic_depth

    def forward(self, x):
        x = F.hardtanh(F.hardswish(F.relu6(x)), -0.5, 0.75)
        x = F.pad(x, (1, 1, 2, 0))  # [N, 4, 8, 8]
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)  # [N, 4, 16, 16]
        x = F.max_pool3d(x.unsqueeze(1), (1, 2, 2)).squeeze(1)  # [N, 4, 8, 8]
        x = self.norm(x)
        x = F.group_norm(x, 2, self.group.weight, self.group.bias, 1e-5)
        x = self.drop_path(x) * 0.5 + F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2)
        pooled = F.adaptive_max_pool2d(x, 3).mean(dim=(2, 3), keepdim=True).flatten(1)  # [N, 4]
        seq = F.pad(x.flatten(2).transpose(1, 2), (0, 0, 4, 4), mode="replicate")  # [N, 72, 4]
        seq = torch.cat([self.cls.expand(seq.shape[0], -1, -1), seq], dim=1) + self.pos  # [N, 73, 4]
        attn = F.softsign(torch.matmul(seq, seq.transpose(1, 2))).softmax(-1)
        seq = attn @ seq
        head = seq[:, 0]  # [N, 4]
        rest = seq.narrow(1, 1, 6)[:, 2:5].amax(1)  # [N, 4]
        both = torch.stack([head, rest + pooled], dim=1)  # [N, 2, 4]
        return torch.cat([both.sum(-1, keepdim=True).expand(-1, 2, 4).flatten(1), self.fc(head)], dim=1)


def test_functional_calls_map_onto_catalog_layers():
    pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = Functional()
    result = import_model("tests.core.test_import_functional:Functional", [(4, 6, 6)], catalog=fresh_catalog(),
                          model=model)
    assert result.ok, result.text()
    assert result.unmapped == []
    types = Counter(n.type for n in result.project.graph)
    for layer in ("ReLU6", "Hardswish", "Hardtanh", "ZeroPad2d", "Upsample", "MaxPool3d", "LayerNorm", "GroupNorm",
                  "StochasticDepth", "Scale", "PixelShuffle", "PixelUnshuffle", "AdaptiveMaxPool2d", "Mean",
                  "ReplicationPad", "ClassToken", "PositionalEncoding", "MatMul", "Softsign", "Select", "Slice", "Max",
                  "Stack", "Sum", "Expand"):
        assert types[layer] >= 1, layer
    assert types["MatMul"] == 2 and types["Slice"] == 2
    graph = result.project.graph
    norm = next(n for n in graph if n.type == "LayerNorm")
    assert norm.id == "norm" and norm.params.get("normalized_dims", 1) == 1
    token = next(n for n in graph if n.type == "ClassToken")
    assert torch.equal(result.state_dict[f"{token.id}.token"], model.cls.detach())
    positions = next(n for n in graph if n.type == "PositionalEncoding")
    assert torch.equal(result.state_dict[f"{positions.id}.pe"], model.pos.detach()[0])
    assert set(result.state_dict) == set(compile_graph(graph).state_dict())


class NotExact(nn.Module):
    """Calls that look mappable but are not exactly a catalog layer: they stay FxModules."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4, 1, 1))

    def forward(self, x):
        a = F.interpolate(x, scale_factor=2.0, mode="bilinear", antialias=True)  # antialiasing: not Upsample
        b = x.mean(dim=0, keepdim=True).expand(x.shape[0], -1, -1, -1)  # reduces over the batch
        return a[:, :, ::2, ::2] + b * self.scale  # two strided dims; a parameter factor (layer scale)


def test_calls_that_differ_stay_fx_modules():
    result = import_model("tests.core.test_import_functional:NotExact", [(4, 6, 6)], catalog=fresh_catalog(),
                          model=NotExact())
    assert result.ok, result.text()
    origins = sorted(what.split(" ")[0] for _, what in result.unmapped)
    assert "torch.nn.functional.interpolate" in origins and "operator.mul" in origins
    assert "operator.getitem" in origins
