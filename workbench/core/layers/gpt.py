"""Layers of modern decoder-only language models: GPTBlock and the SwiGLU feed-forward.

GPTBlock reads like nanoGPT's Block: pre-norm causal self-attention, then a feed-forward
network, each added back to the residual stream. Attention runs through
F.scaled_dot_product_attention(is_causal=True), so the GPU uses its fused kernels.
Positions come from rotary embeddings inside the attention (`rope`, the default), or from a
PositionalEncoding(kind="learned") before the first block with `rope` off.

The modules are in workbench/core/modules/gpt.py, self-contained (only math, torch, nn
and F): codegen copies their source, and the helpers they name, into the standalone file.

FLOPs per sample, with T steps, width d and feed-forward width f: the q/k/v projection
2·T·d·3d, the output projection 2·T·d², Q·Kᵀ and A·V 2·2·T²·d (the full T×T products, as
the math kernel and FlopCounterMode's SDPA formula count them, causal or not), and the
feed-forward 2·T·d·f per matrix (two for gelu, three for swiglu). Norms and the rotation
are element-wise: 0.
"""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.layers.recurrent import require_sequence
from workbench.core.layers.sequence import _heads_divide
from workbench.core.params import BOOL, CHOICE, FLOAT, INT, Param
from workbench.core.tensors import ShapeError, require_float

__all__ = ["GPT_BLOCK", "SWIGLU", "feedforward_width"]


def feedforward_width(d_model, mlp="gelu"):
    """The default hidden width: 4·d for gelu; for swiglu 8·d/3 (rounded up to a multiple
    of 8), which gives its three matrices the parameters of gelu's two."""
    if mlp == "swiglu":
        return math.ceil(8 * d_model / 3 / 8) * 8
    return 4 * d_model


# ---------------------------------------------------------------------------------------
# Specs


def _width(p, d):
    return p["dim_feedforward"] or feedforward_width(d, p["mlp"])


def _infer_block(inputs, p):
    (x,) = inputs
    require_sequence("GPTBlock", x, "d")
    d = x.shape[1]
    _heads_divide(d, p["nhead"], "nhead")
    head = d // p["nhead"]
    if p["rope"] and head % 2:
        raise ShapeError(
            f"rotary positions need an even head dim, but {d} / nhead {p['nhead']} = {head}: "
            "change nhead or the embed dim, or turn rope off"
        )
    return [x]


def _block_flops(inputs, outputs, p):
    t, d = inputs[0].shape
    matrices = 3 if p["mlp"] == "swiglu" else 2
    return 8 * t * d * d + 4 * t * t * d + matrices * 2 * t * d * _width(p, d)


def _construct_block(inputs, p):
    d = inputs[0].shape[-1]
    return Constructor("workbench.core.modules.gpt.GPTBlock", {"d_model": d, **p, "dim_feedforward": _width(p, d)})


def _infer_swiglu(inputs, p):
    (x,) = inputs
    require_float("SwiGLU", x)
    if x.rank < 2:
        raise ShapeError(f"SwiGLU expects [N, ..., F] but gets {x}")
    return [x]


def _swiglu_flops(inputs, outputs, p):
    x = inputs[0]
    return 3 * 2 * math.prod(x.shape) * _hidden(p, x.shape[-1])


def _hidden(p, d):
    return p["hidden_features"] or feedforward_width(d, "swiglu")


GPT_BLOCK = LayerSpec(
    name="GPTBlock",
    category="sequence",
    doc="A GPT decoder block over [N, T, d]: pre-norm causal self-attention and a feed-forward network, with residuals.",
    params=(
        Param("nhead", INT, 4, "Attention heads; must divide the embed dim", min=1, max=1024),
        Param(
            "dim_feedforward",
            INT,
            None,
            "Hidden width of the feed-forward network (empty: 4·d for gelu, 8·d/3 rounded up to a multiple of 8 for swiglu)",
            min=1,
            max=1_000_000,
            optional=True,
        ),
        Param("dropout", FLOAT, 0.0, "Dropout on attention weights and after each sub-block while training", min=0.0, max=1.0),
        Param(
            "norm",
            CHOICE,
            "layernorm",
            "Normalisation before each sub-block: layernorm (GPT-2) or rmsnorm (LLaMA)",
            choices=("layernorm", "rmsnorm"),
        ),
        Param(
            "mlp",
            CHOICE,
            "gelu",
            "Feed-forward network: gelu (Linear-GELU-Linear, GPT-2) or swiglu (SiLU-gated, LLaMA)",
            choices=("gelu", "swiglu"),
        ),
        Param(
            "rope",
            BOOL,
            True,
            "Rotary position embeddings in the attention (off: put a learned PositionalEncoding before the first block)",
        ),
        Param("bias", BOOL, True, "Learn biases in the linear layers and LayerNorms"),
    ),
    construct=_construct_block,
    infer=_infer_block,
    flops=_block_flops,
)

SWIGLU = LayerSpec(
    name="SwiGLU",
    category="dense",
    doc="SiLU-gated feed-forward over the last dimension: down(silu(gate(x)) · up(x)); output width = input width.",
    params=(
        Param(
            "hidden_features",
            INT,
            None,
            "Width of the gated hidden layer (empty: 8·F/3 rounded up to a multiple of 8)",
            min=1,
            max=1_000_000,
            optional=True,
        ),
        Param("bias", BOOL, True, "Learn biases in the three linear layers"),
    ),
    construct=lambda inputs, p: Constructor(
        "workbench.core.modules.gpt.SwiGLU", {"in_features": inputs[0].shape[-1], "hidden_features": _hidden(p, inputs[0].shape[-1]), "bias": p["bias"]}
    ),
    infer=_infer_swiglu,
    flops=_swiglu_flops,
)

SPECS = (GPT_BLOCK, SWIGLU)
