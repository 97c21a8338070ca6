"""Which torch.nn module calls become issue 15's catalog layers (fx_mapping holds the older
ones, fx_calls the functional calls). A module maps only where the layer computes exactly
what the module does with its settings; anything else stays an FxModule.

Covered: the 3-D/1-D convolutions and pools, adaptive max and LP pools, BatchNorm3d,
InstanceNorm, LocalResponseNorm, RMSNorm, the added activations and dropouts, Upsample
(and UpsamplingNearest2d/UpsamplingBilinear2d), pixel (un)shuffle, the padding modules,
Unflatten, EmbeddingBag, the two-input Bilinear / CosineSimilarity / PairwiseDistance and
nn.MultiheadAttention (batch first, read through [0], no masks) -> MultiheadAttention.
"""

from __future__ import annotations

import operator
from typing import Callable

from torch import fx, nn

from workbench.core.fx_mapping import Native, NotNative, _compact, _conv, _simple, _tensor

__all__ = ["map_module"]


def _conv_nd(m, node, ctx):
    if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose3d)):
        if m.padding_mode != "zeros":
            raise NotNative
        return type(m).__name__, {
            "out_channels": m.out_channels, "kernel_size": _compact(m.kernel_size), "stride": _compact(m.stride),
            "padding": _compact(m.padding), "output_padding": _compact(m.output_padding), "groups": m.groups,
            "bias": m.bias is not None, "dilation": _compact(m.dilation),
        }
    return _conv(m, node, ctx)


def _avg_pool(m, node, ctx):
    params = {"kernel_size": _compact(m.kernel_size), "stride": _compact(m.stride), "padding": _compact(m.padding),
              "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}
    if isinstance(m, nn.AvgPool3d):
        params["divisor_override"] = m.divisor_override
    return type(m).__name__, params


def _max_pool3d(m):
    return "MaxPool3d", {
        "kernel_size": _compact(m.kernel_size), "stride": _compact(m.stride), "padding": _compact(m.padding),
        "dilation": _compact(m.dilation), "ceil_mode": m.ceil_mode,
    }


def _adaptive_nd(m, node, ctx):
    size = m.output_size
    if getattr(m, "return_indices", False) or size is None or (isinstance(size, (tuple, list)) and None in size):
        raise NotNative
    return type(m).__name__, {"output_size": _compact(size)}


def _lp_pool(m, node, ctx):
    return type(m).__name__, {
        "norm_type": float(m.norm_type), "kernel_size": _compact(m.kernel_size),
        "stride": _compact(m.stride) if m.stride is not None else None, "ceil_mode": m.ceil_mode,
    }


def _instancenorm(m, node, ctx):
    return type(m).__name__, {
        "eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats,
    }


def _rmsnorm(m, node, ctx):
    if len(m.normalized_shape) != 1 or m.eps is None:  # eps None: torch uses the dtype's machine epsilon
        raise NotNative
    return "RMSNorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine}


def _prelu(m, node, ctx):
    n = m.num_parameters
    shape = ctx.shape(node.args[0])
    if n != 1 and (not shape or n != shape[0]):
        raise NotNative
    return "PReLU", {"per_channel": n != 1, "init": float(m.init)}


def _upsample(m, node, ctx):
    if getattr(m, "recompute_scale_factor", None):
        raise NotNative
    scale = m.scale_factor
    if isinstance(scale, (tuple, list)):
        if len(set(scale)) != 1:
            raise NotNative
        scale = scale[0]
    size = m.size
    mode = m.mode
    align = m.align_corners
    if isinstance(m, nn.UpsamplingBilinear2d):
        mode, align = "bilinear", True
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"):
        raise NotNative
    return "Upsample", {
        "size": _compact(size) if size is not None else None,
        "scale_factor": float(scale) if scale is not None and size is None else None,
        "mode": mode,
        "align_corners": align if mode in ("linear", "bilinear", "bicubic", "trilinear") else None,
    }


def _padding(layer: str):
    def mapper(m, node, ctx):
        pad = list(m.padding)
        if any(p < 0 for p in pad):  # negative padding crops; the layers here only pad
            raise NotNative
        # ZeroPad{n}d pads n dims whatever the number; the generic layers read n off the list
        params = {"padding": pad[0] if len(set(pad)) == 1 and layer.startswith("ZeroPad") else pad}
        if layer == "ConstantPad":
            params["value"] = float(m.value)
        return layer, params

    return mapper


def _embedding_bag(m, node, ctx):
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse or m.include_last_offset:
        raise NotNative
    return "EmbeddingBag", {
        "num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim, "mode": m.mode, "padding_idx": m.padding_idx,
    }


def _unflatten(m, node, ctx):
    return "Unflatten", {"dim": m.dim, "unflattened_size": list(m.unflattened_size)}


SINGLE: dict[type, Callable] = {
    nn.Conv3d: _conv_nd,
    nn.ConvTranspose1d: _conv_nd,
    nn.ConvTranspose3d: _conv_nd,
    nn.MaxPool3d: lambda m, n, c: _max_pool3d(m) if not m.return_indices else _raise(),
    nn.AvgPool1d: _avg_pool,
    nn.AvgPool3d: _avg_pool,
    nn.AdaptiveAvgPool3d: _adaptive_nd,
    nn.AdaptiveMaxPool1d: _adaptive_nd,
    nn.AdaptiveMaxPool2d: _adaptive_nd,
    nn.LPPool1d: _lp_pool,
    nn.LPPool2d: _lp_pool,
    nn.BatchNorm3d: lambda m, n, c: ("BatchNorm3d", {
        "eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats}),
    nn.InstanceNorm1d: _instancenorm,
    nn.InstanceNorm2d: _instancenorm,
    nn.InstanceNorm3d: _instancenorm,
    nn.LocalResponseNorm: _simple("LocalResponseNorm", "size", "alpha", "beta", "k"),
    nn.RMSNorm: _rmsnorm,
    nn.ReLU6: _simple("ReLU6"),
    nn.Hardswish: _simple("Hardswish"),
    nn.Hardsigmoid: _simple("Hardsigmoid"),
    nn.Hardtanh: lambda m, n, c: ("Hardtanh", {"min_val": float(m.min_val), "max_val": float(m.max_val)}),
    nn.PReLU: _prelu,
    nn.SELU: _simple("SELU"),
    nn.CELU: lambda m, n, c: ("CELU", {"alpha": float(m.alpha)}),
    nn.Softplus: lambda m, n, c: ("Softplus", {"beta": float(m.beta), "threshold": float(m.threshold)}),
    nn.Softsign: _simple("Softsign"),
    nn.Tanhshrink: _simple("Tanhshrink"),
    nn.Threshold: lambda m, n, c: ("Threshold", {"threshold": float(m.threshold), "value": float(m.value)}),
    nn.Hardshrink: lambda m, n, c: ("Hardshrink", {"lambd": float(m.lambd)}),
    nn.Softshrink: lambda m, n, c: ("Softshrink", {"lambd": float(m.lambd)}),
    nn.LogSigmoid: _simple("LogSigmoid"),
    nn.Softmin: lambda m, n, c: ("Softmin", {"dim": m.dim}) if m.dim is not None else _raise(),
    nn.Softmax2d: _simple("Softmax2d"),
    nn.GLU: _simple("GLU", "dim"),
    nn.Dropout1d: _simple("Dropout1d", "p"),
    nn.Dropout3d: _simple("Dropout3d", "p"),
    nn.AlphaDropout: _simple("AlphaDropout", "p"),
    nn.Upsample: _upsample,
    nn.UpsamplingNearest2d: _upsample,
    nn.UpsamplingBilinear2d: _upsample,
    nn.PixelShuffle: _simple("PixelShuffle", "upscale_factor"),
    nn.PixelUnshuffle: _simple("PixelUnshuffle", "downscale_factor"),
    nn.ZeroPad1d: _padding("ZeroPad1d"),
    nn.ZeroPad2d: _padding("ZeroPad2d"),
    nn.ZeroPad3d: _padding("ZeroPad3d"),
    **{cls: _padding("ConstantPad") for cls in (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)},
    **{cls: _padding("ReflectionPad") for cls in (nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d)},
    **{cls: _padding("ReplicationPad") for cls in (nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d)},
    nn.Unflatten: _unflatten,
    nn.EmbeddingBag: _embedding_bag,
}

PAIRED: dict[type, Callable] = {
    nn.Bilinear: lambda m: ("Bilinear", {"out_features": m.out_features, "bias": m.bias is not None}),
    nn.CosineSimilarity: lambda m: ("CosineSimilarity", {"dim": m.dim, "eps": float(m.eps)}),
    nn.PairwiseDistance: lambda m: ("PairwiseDistance", {"p": float(m.norm), "eps": float(m.eps), "keepdim": m.keepdim}),
}


def _raise():
    raise NotNative


def _attention(m: nn.MultiheadAttention, node: fx.Node, ctx) -> Native:
    """out, _ = mha(q, k, v, ...) read through [0]: batch first, no masks, weights unused."""
    if not (node.op == "call_function" and node.target is operator.getitem and node.args[1] == 0):
        raise NotNative
    call = node.args[0]
    if not m.batch_first or len(call.args) > 3:
        raise NotNative
    names = ("query", "key", "value")
    bound = dict(zip(names, call.args))
    for key, value in call.kwargs.items():
        if key in names:
            bound[key] = value
        elif key in ("key_padding_mask", "attn_mask") and value is not None:
            raise NotNative
        elif key == "is_causal" and ctx.literal(value):
            raise NotNative
        elif key not in ("need_weights", "average_attn_weights", "key_padding_mask", "attn_mask", "is_causal"):
            raise NotNative
    if set(bound) != set(names):
        raise NotNative
    q, k, v = (_tensor(ctx, bound[n]) for n in names)
    inputs = [q] if k is q and v is q else [q, k] if v is k else [q, k, v]
    params = {
        "num_heads": m.num_heads, "dropout": float(m.dropout), "bias": m.in_proj_bias is not None,
        "causal": False, "add_bias_kv": m.bias_k is not None, "add_zero_attn": m.add_zero_attn,
    }
    return Native("MultiheadAttention", params, inputs, weights=call.target, weights_prefix="attn.")


def map_module(node: fx.Node, ctx) -> Native | None:
    """A Native layer for a call of one of the modules above, or None."""
    try:
        if node.op == "call_function" and node.target is operator.getitem:
            source = node.args[0]
            if isinstance(source, fx.Node) and source.op == "call_module":
                module = ctx.module(source.target)
                if type(module) is nn.MultiheadAttention:
                    return _attention(module, node, ctx)
            return None
        if node.op != "call_module":
            return None
        module = ctx.module(node.target)
        single, paired = SINGLE.get(type(module)), PAIRED.get(type(module))
        if single is not None and len(node.args) == 1 and not node.kwargs:
            layer, params = single(module, node, ctx)
            return Native(layer, params, [_tensor(ctx, node.args[0])], weights=node.target)
        if paired is not None and len(node.args) == 2 and not node.kwargs:
            layer, params = paired(module)
            return Native(layer, params, [_tensor(ctx, a) for a in node.args], weights=node.target)
    except NotNative:
        return None
    return None
