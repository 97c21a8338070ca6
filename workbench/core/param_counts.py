"""How many parameters (and buffer elements) a layer holds, counted without building it.

The layers people make huge (Linear, convolutions, Embedding, recurrent and attention
blocks) are counted from their constructor's arguments with the formulas torch's own
modules follow, so a 4 TB Linear costs microseconds and no memory (and no torch import:
the formulas are keyed by the class's dotted path). A spec's own
`count_params` comes first (pretrained backbones); any other module (a plugin, an
imported FxModule) is built on the meta device, which allocates nothing. Each formula is
held against the real module by tests/core/test_param_counts.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.core.catalog import LayerSpec
from workbench.core.layers.recurrent import _GATES
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


_NN = "torch.nn."
_OURS = "workbench.core.modules."


def _attention_full(k) -> int:
    """nn.MultiheadAttention with kdim/vdim (separate q/k/v weights) and bias_k/bias_v."""
    e = k["embed_dim"]
    kdim, vdim = k.get("kdim") or e, k.get("vdim") or e
    return e * (e + kdim + vdim) + e * e + (4 * e if k.get("bias", True) else 0) + (2 * e if k.get("add_bias_kv", False) else 0)


def _instancenorm(k) -> tuple[int, int]:
    c = k["num_features"]
    return (2 * c if k.get("affine", False) else 0), (2 * c + 1 if k.get("track_running_stats", False) else 0)


def _separable(k) -> int:
    c, out, bias = k["in_channels"], k["out_channels"], k.get("bias", True)
    depthwise = c * math.prod(pair(k.get("kernel_size", 3), 2)) + (c if bias else 0)
    return depthwise + c * out + (out if bias else 0)


_STATELESS_MORE = (
    *(_NN + name for name in (
        "ReLU6", "Hardswish", "Hardsigmoid", "Hardtanh", "SELU", "CELU", "Softplus", "Softsign", "Tanhshrink",
        "Threshold", "Hardshrink", "Softshrink", "LogSigmoid", "Softmin", "Softmax2d", "GLU",
        "Dropout1d", "Dropout3d", "AlphaDropout", "MaxPool3d", "AvgPool1d", "AvgPool3d", "AdaptiveAvgPool3d",
        "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LPPool1d", "LPPool2d", "LocalResponseNorm", "Upsample",
        "PixelShuffle", "PixelUnshuffle", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "Unflatten",
        "CosineSimilarity",
        *(f"{kind}{n}d" for kind in ("ConstantPad", "ReflectionPad", "ReplicationPad") for n in (1, 2, 3)),
    )),
    "torchvision.ops.StochasticDepth",
    *(_OURS + name for name in (
        "tensor_ops.Squeeze", "tensor_ops.Unsqueeze", "tensor_ops.Split", "tensor_ops.Chunk", "tensor_ops.Slice",
        "tensor_ops.Select", "tensor_ops.Repeat", "tensor_ops.Expand", "tensor_ops.Stack", "reduce.Reduce",
        "reduce.MatMul", "similarity.PairwiseDistance",
    )),
)

# modules that hold no tensors at all
_STATELESS = (
    *(_NN + name for name in (
        "Identity", "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
        "Dropout", "Dropout2d", "Flatten", "MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
    )),
    *(_OURS + name for name in (
        "pool.GlobalAvgPool", "shape.Reshape", "shape.Permute", "shape.Transpose", "merge.Add", "merge.Multiply",
        "merge.Concat", "sequence.SequencePool",
    )),
)

# dotted class path (as catalog.class_path writes it) -> kwargs -> parameters, or
# (parameters, buffer elements); keyed by path so that counting never imports torch
_FORMULAS = {
    **{path: (lambda k: 0) for path in _STATELESS},
    _NN + "Linear": _linear,
    _NN + "Conv1d": _conv(1, False),
    _NN + "Conv2d": _conv(2, False),
    _NN + "Conv3d": _conv(3, False),
    _NN + "ConvTranspose1d": _conv(1, True),
    _NN + "ConvTranspose2d": _conv(2, True),
    _NN + "ConvTranspose3d": _conv(3, True),
    _NN + "Embedding": lambda k: k["num_embeddings"] * k["embedding_dim"],
    _NN + "BatchNorm1d": _batchnorm,
    _NN + "BatchNorm2d": _batchnorm,
    _NN + "BatchNorm3d": _batchnorm,
    _NN + "LayerNorm": lambda k: _layernorm(
        math.prod(pair(k["normalized_shape"], 1)), k.get("elementwise_affine", True), k.get("bias", True)
    ),
    _NN + "GroupNorm": lambda k: 2 * k["num_channels"] if k.get("affine", True) else 0,
    _OURS + "recurrent.Recurrent": _recurrent,
    _OURS + "sequence.PositionalEncoding": _positional,
    _OURS + "sequence.SelfAttention": lambda k: _attention(k["embed_dim"], k.get("bias", True)),
    _NN + "TransformerEncoderLayer": _encoder_layer,
    _OURS + "sequence.TransformerEncoderStack": lambda k: k.get("num_layers", 2) * _encoder_layer(k),
    _OURS + "sequence.TransformerDecoderBlock": _decoder_layer,
    # issue 15's layers
    **{path: (lambda k: 0) for path in _STATELESS_MORE},
    _NN + "InstanceNorm1d": _instancenorm,
    _NN + "InstanceNorm2d": _instancenorm,
    _NN + "InstanceNorm3d": _instancenorm,
    _NN + "PReLU": lambda k: k.get("num_parameters", 1),
    _NN + "Bilinear": lambda k: k["in1_features"] * k["in2_features"] * k["out_features"] + (k["out_features"] if k.get("bias", True) else 0),
    _NN + "EmbeddingBag": lambda k: k["num_embeddings"] * k["embedding_dim"],
    _OURS + "attention.Attention": _attention_full,
    _OURS + "conv_nd.DepthwiseSeparableConv2d": _separable,
    _OURS + "norm_nd.ChannelLayerNorm": lambda k: _layernorm(k["normalized_shape"], k.get("elementwise_affine", True), k.get("bias", True)),
    _OURS + "vit.PatchEmbedding": lambda k: _conv(2, False)({"in_channels": k["in_channels"], "out_channels": k["embed_dim"], "kernel_size": k.get("patch_size", 16), "bias": k.get("bias", True)}),
    _OURS + "vit.ClassToken": lambda k: k["embed_dim"],
    _OURS + "vit.TransformerDecoderStack": lambda k: k.get("num_layers", 2) * _decoder_layer(k),
    _OURS + "reduce.Scale": lambda k: (1, 0) if k.get("learnable", False) else (0, 1),
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
    formula = _FORMULAS.get(constructor.class_path)
    if formula is None:
        return _count_on_meta(spec, constructor, inputs, resolved)
    counted = formula(constructor.kwargs)
    params, buffers = counted if isinstance(counted, tuple) else (counted, 0)
    return ParamCount(params, params, buffers)


def _count_on_meta(spec: LayerSpec, constructor, inputs, resolved) -> ParamCount:
    import torch

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
