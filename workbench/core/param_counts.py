"""How many parameters (and buffer elements) a layer holds, counted without building it.

The layers people make huge (Linear, convolutions, Embedding, recurrent and attention
blocks) are counted from their constructor's arguments with the formulas torch's own
modules follow, so a 4 TB Linear costs microseconds and no memory. A spec's own
`count_params` comes first (pretrained backbones); any other module (a plugin, an
imported FxModule) is built on the meta device, which allocates nothing. Each formula is
held against the real module by tests/core/test_param_counts.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from workbench.core.catalog import LayerSpec
from workbench.core.layers.merge import Add, Concat, Multiply
from workbench.core.layers.pool import GlobalAvgPool
from workbench.core.layers.recurrent import _GATES, Recurrent
from workbench.core.layers.sequence import (
    PositionalEncoding,
    SelfAttention,
    SequencePool,
    TransformerDecoderBlock,
    TransformerEncoderStack,
)
from workbench.core.layers.shape import Permute, Reshape, Transpose
from workbench.core.params import pair
from workbench.core.shapes import freeze

__all__ = ["ParamCount", "count_params"]


@dataclass(frozen=True, slots=True)
class ParamCount:
    params: int
    trainable: int
    buffers: int = 0  # running statistics, fixed tables: memory, but no gradients


def _linear(k) -> int:
    return k["in_features"] * k["out_features"] + (k["out_features"] if k.get("bias", True) else 0)


def _conv(dims: int, transposed: bool):
    def count(k) -> int:
        groups = k.get("groups", 1)
        c_in, c_out = k["in_channels"], k["out_channels"]
        per_filter = (c_out // groups) * c_in if transposed else (c_in // groups) * c_out
        weight = per_filter * math.prod(pair(k["kernel_size"], dims))
        return weight + (c_out if k.get("bias", True) else 0)

    return count


def _attention(e: int, bias: bool) -> int:
    """nn.MultiheadAttention: packed q/k/v projection plus the output projection."""
    return 4 * e * e + (4 * e if bias else 0)


def _layernorm(width: int, affine: bool = True, bias: bool = True) -> int:
    return width * ((1 + bias) if affine else 0)


def _feedforward(e: int, f: int, bias: bool) -> int:
    return 2 * e * f + ((e + f) if bias else 0)


def _encoder_layer(k) -> int:
    e, bias = k["d_model"], k.get("bias", True)
    return _attention(e, bias) + _feedforward(e, k.get("dim_feedforward", 2048), bias) + 2 * _layernorm(e, True, bias)


def _decoder_layer(k) -> int:
    e, bias = k["d_model"], k.get("bias", True)
    return 2 * _attention(e, bias) + _feedforward(e, k.get("dim_feedforward", 2048), bias) + 3 * _layernorm(e, True, bias)


def _recurrent(k) -> int:
    gates, hidden = _GATES[k["kind"]], k["hidden_size"]
    directions = 2 if k.get("bidirectional", False) else 1
    total = 0
    for layer in range(k.get("num_layers", 1)):
        width = k["input_size"] if layer == 0 else hidden * directions
        total += directions * gates * hidden * (width + hidden + (2 if k.get("bias", True) else 0))
    return total


def _batchnorm(k) -> tuple[int, int]:
    c = k["num_features"]
    return (2 * c if k.get("affine", True) else 0), (2 * c + 1 if k.get("track_running_stats", True) else 0)


def _positional(k) -> tuple[int, int]:
    table = k.get("max_len", 512) * k["d_model"]
    return (table, 0) if k.get("kind", "sinusoidal") == "learned" else (0, table)


# modules that hold no tensors at all
_STATELESS = (
    nn.Identity, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.Sigmoid, nn.Softmax,
    nn.LogSoftmax, nn.Dropout, nn.Dropout2d, nn.Flatten, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool2d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, GlobalAvgPool, Reshape, Permute, Transpose, Add, Multiply, Concat,
    SequencePool,
)

# class -> kwargs -> parameters, or (parameters, buffer elements)
_FORMULAS = {
    **{cls: (lambda k: 0) for cls in _STATELESS},
    nn.Linear: _linear,
    nn.Conv1d: _conv(1, False),
    nn.Conv2d: _conv(2, False),
    nn.Conv3d: _conv(3, False),
    nn.ConvTranspose1d: _conv(1, True),
    nn.ConvTranspose2d: _conv(2, True),
    nn.ConvTranspose3d: _conv(3, True),
    nn.Embedding: lambda k: k["num_embeddings"] * k["embedding_dim"],
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
    nn.BatchNorm3d: _batchnorm,
    nn.LayerNorm: lambda k: _layernorm(
        math.prod(pair(k["normalized_shape"], 1)), k.get("elementwise_affine", True), k.get("bias", True)
    ),
    nn.GroupNorm: lambda k: 2 * k["num_channels"] if k.get("affine", True) else 0,
    Recurrent: _recurrent,
    PositionalEncoding: _positional,
    SelfAttention: lambda k: _attention(k["embed_dim"], k.get("bias", True)),
    nn.TransformerEncoderLayer: _encoder_layer,
    TransformerEncoderStack: lambda k: k.get("num_layers", 2) * _encoder_layer(k),
    TransformerDecoderBlock: _decoder_layer,
}

_cache: dict = {}


def count_params(spec: LayerSpec, resolved: dict, inputs: tuple) -> ParamCount:
    """The layer's parameters, trainable parameters and buffer elements; memoised."""
    key = (spec.name, id(spec), freeze(resolved), inputs)
    hit = _cache.get(key)
    if hit is None:
        hit = _cache[key] = _count(spec, resolved, inputs)
    return hit


def _count(spec: LayerSpec, resolved: dict, inputs: tuple) -> ParamCount:
    if spec.count_params is not None:
        return ParamCount(*spec.count_params(list(inputs), resolved))
    if spec.construct is None:
        return ParamCount(0, 0)
    constructor = spec.constructor(list(inputs), resolved)
    formula = _FORMULAS.get(constructor.module_class)
    if formula is None:
        return _count_on_meta(spec, constructor, inputs, resolved)
    counted = formula(constructor.kwargs)
    params, buffers = counted if isinstance(counted, tuple) else (counted, 0)
    return ParamCount(params, params, buffers)


def _count_on_meta(spec: LayerSpec, constructor, inputs, resolved) -> ParamCount:
    try:
        with torch.device("meta"):
            module = constructor.build()
    except Exception:  # some layers (torchaudio filterbanks) cannot be built on meta
        module = spec.build(list(inputs), resolved)
    params = list(module.parameters())
    return ParamCount(
        sum(p.numel() for p in params),
        sum(p.numel() for p in params if p.requires_grad),
        sum(b.numel() for b in module.buffers()),
    )
