"""`workbench import` maps issue 15's torch.nn modules onto catalog layers (fx_modules):
no FxModule is left, weights move over, and the imported graph reproduces the model."""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from tests.plugins.helpers import fresh_catalog
from workbench.core.compile import compile_graph
from workbench.core.importer import import_model


class Modules(nn.Module):
    """[N, 4, 8, 8] -> [N, 8, 16] and [N, 14]: one module of each kind."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ReflectionPad2d((1, 1, 2, 0))
        self.zero = nn.ZeroPad2d(1)
        self.const = nn.ConstantPad2d((1, 0, 0, 1), 0.5)
        self.rep = nn.ReplicationPad2d(1)
        self.acts = nn.Sequential(nn.ReLU6(), nn.Hardswish(), nn.Hardtanh(-0.5, 2.0), nn.PReLU(4), nn.SELU(),
                                  nn.CELU(0.5), nn.Softplus(2.0), nn.Softsign(), nn.Tanhshrink(), nn.LogSigmoid())
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.lrn = nn.LocalResponseNorm(3)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.lp = nn.LPPool2d(2, 2)
        self.amax = nn.AdaptiveMaxPool2d(8)
        self.shuffle = nn.PixelShuffle(2)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.conv3d = nn.Conv3d(1, 2, 3, padding=1)
        self.bn3d = nn.BatchNorm3d(2)
        self.pool3d = nn.MaxPool3d((2, 1, 1))
        self.unflatten = nn.Unflatten(1, (2, 128))
        self.tconv = nn.ConvTranspose1d(2, 2, 2, stride=2)
        self.avg1 = nn.AvgPool1d(2)
        self.drop = nn.Dropout1d(0.1)
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
        self.cross = nn.MultiheadAttention(32, 2, kdim=8, vdim=8, batch_first=True)
        self.keys = nn.Linear(32, 8)
        self.bilinear = nn.Bilinear(32, 32, 6)
        self.cos = nn.CosineSimilarity(dim=-1)
        self.glu = nn.GLU(-1)
        self.rms = nn.RMSNorm(32, eps=1e-6)
        self.softmin = nn.Softmin(dim=-1)

    def forward(self, x):
        x = self.rep(self.const(self.zero(self.pad(x))))[:, :, :8, :8]
        x = self.lrn(self.inorm(self.acts(x)))
        x = self.amax(self.lp(self.up(x)))  # [N, 4, 8, 8]
        x = self.unshuffle(self.shuffle(x))
        v = self.pool3d(self.bn3d(self.conv3d(x.unsqueeze(1))))  # [N, 2, 2, 8, 8]
        seq = self.unflatten(v.flatten(1))  # [N, 2, 128]
        seq = self.drop(self.avg1(self.tconv(seq)))  # [N, 2, 128]
        seq = seq.reshape(seq.shape[0], 8, 32)
        a, _ = self.attn(seq, seq, seq, need_weights=False)
        k = self.keys(a)
        c, _ = self.cross(a, k, k)
        c = self.rms(c)
        pooled = self.bilinear(c[:, 0], a[:, 1])
        sim = self.cos(c, a)  # [N, 8]
        return self.softmin(self.glu(c)), torch.cat([pooled, sim], dim=1)


def test_modules_map_onto_catalog_layers():
    torch.manual_seed(0)
    model = Modules()
    result = import_model("tests.core.test_layers_import:Modules", [(4, 8, 8)], catalog=fresh_catalog(), model=model)
    assert result.ok, result.text()
    left = Counter(what.split(" ")[0] for _, what in result.unmapped)
    assert not [w for w in left if w.startswith("torch.nn.")], left
    types = Counter(n.type for n in result.project.graph)
    for layer in ("ReflectionPad", "ZeroPad2d", "ConstantPad", "ReplicationPad", "ReLU6", "Hardswish", "Hardtanh",
                  "PReLU", "SELU", "CELU", "Softplus", "Softsign", "Tanhshrink", "LogSigmoid", "InstanceNorm2d",
                  "LocalResponseNorm", "Upsample", "LPPool2d", "AdaptiveMaxPool2d", "PixelShuffle", "PixelUnshuffle",
                  "Conv3d", "BatchNorm3d", "MaxPool3d", "Unflatten", "ConvTranspose1d", "AvgPool1d", "Dropout1d",
                  "Bilinear", "CosineSimilarity", "GLU", "RMSNorm", "Softmin"):
        assert types[layer] == 1, layer
    assert types["MultiheadAttention"] == 2
    graph = result.project.graph
    attn = graph.nodes["attn"]
    assert len(graph.in_edges("attn")) == 1 and len(graph.in_edges("cross")) == 2  # q=k=v; k=v
    assert attn.params.get("num_heads", 4) == 4 and graph.nodes["cross"].params["num_heads"] == 2
    assert torch.equal(result.state_dict["cross.attn.k_proj_weight"], model.cross.k_proj_weight.detach())
    assert set(result.state_dict) == set(compile_graph(graph).state_dict())


class NotExact(nn.Module):
    """Module settings no catalog layer reproduces: they stay FxModules."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2)  # sequence first

    def forward(self, x):  # [N, 4, 8]
        y = x.transpose(0, 1)
        a, _ = self.attn(y, y, y)
        return a.transpose(0, 1)


def test_module_settings_that_differ_stay_fx_modules():
    result = import_model("tests.core.test_layers_import:NotExact", [(4, 8)], catalog=fresh_catalog(), model=NotExact())
    assert result.ok, result.text()
    types = Counter(n.type for n in result.project.graph)
    assert types["MultiheadAttention"] == 0 and types["FxModule"] >= 1
