"""Sequence layers: token embeddings, positional encodings, attention, Transformer blocks
and pooling over time. Sequences are batch first: [N, T, E].

FLOPs: attention layers count what FlopCounterMode sees on torch's decomposed path —
the linear projections (mm/addmm) and the two attention matmuls Q·Kᵀ and A·V (bmm, or the
SDPA op on GPU), 2·T·S·E each. On CPU in eval mode torch may instead run fused kernels
that FlopCounterMode cannot see into (the MultiheadAttention / encoder-layer "fast path",
flash attention for CPU), which count 0; the tests count with those switched off.
"""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.recurrent import require_sequence
from workbench.core.params import BOOL, CHOICE, FLOAT, INT, Param, ParamError
from workbench.core.tensors import FLOAT as FLOAT32
from workbench.core.tensors import INT as INT64
from workbench.core.tensors import ShapeError, TensorInfo


# ---------------------------------------------------------------------------------------
# Shape rules


def _heads_divide(embed, heads, name):
    if embed % heads:
        options = ", ".join(str(h) for h in range(1, min(embed, 64) + 1) if embed % h == 0)
        raise ShapeError(
            f"embed dim {embed} is not divisible by {name} {heads}: use {name} {options} or change the embed dim"
        )


def _infer_embedding(inputs, p):
    (x,) = inputs
    if x.dtype != INT64:
        raise ShapeError(f"Embedding needs integer token ids (int64) but gets {x.dtype}: set the Input dtype to int64")
    if x.rank < 2:
        raise ShapeError(f"Embedding expects token ids [N, T] (or more dims) but gets {x}")
    return [TensorInfo((*x.shape, p["embedding_dim"]), FLOAT32)]


def _check_embedding(p):
    pad, n = p["padding_idx"], p["num_embeddings"]
    if pad is not None and pad >= n:
        raise ParamError("padding_idx", f"must be a token id below num_embeddings ({n}), got {pad}")


def _infer_positional(inputs, p):
    (x,) = inputs
    require_sequence("PositionalEncoding", x, "E")
    steps = x.shape[0]
    if steps > p["max_len"]:
        raise ShapeError(f"sequence length {steps} exceeds max_len {p['max_len']}: raise max_len to at least {steps}")
    return [x]


def _attention_inputs(inputs):
    """(query, key, value, key padding mask or None) from the connected inputs: floats in
    port order (key defaults to the query, value to the key), then an int64 mask."""
    floats = [x for x in inputs if x.dtype == FLOAT32]
    masks = [x for x in inputs if x.dtype != FLOAT32]
    if len(inputs) > 4 or len(floats) > 3 or len(masks) > 1 or inputs[: len(floats)] != floats:
        raise ShapeError(
            "MultiheadAttention takes a query, optionally a key and a value (float [N, S, E]), and last an "
            f"optional int64 key padding mask [N, S]; got {', '.join(f'{x} {x.dtype}' for x in inputs)}"
        )
    q = floats[0]
    k = floats[1] if len(floats) > 1 else q
    v = floats[2] if len(floats) > 2 else k
    return q, k, v, (masks[0] if masks else None)


def _infer_attention(inputs, p):
    q, k, v, mask = _attention_inputs(inputs)
    require_sequence("MultiheadAttention", q, "E")
    require_sequence("MultiheadAttention key", k, "E", "S")
    require_sequence("MultiheadAttention value", v, "E", "S")
    if k.shape[0] != v.shape[0]:
        raise ShapeError(f"MultiheadAttention key {k} and value {v} need the same number of steps")
    if mask is not None and mask.shape != (k.shape[0],):
        raise ShapeError(f"MultiheadAttention key padding mask must be [N, {k.shape[0]}] (one flag per key step), got {mask}")
    _heads_divide(q.shape[1], p["num_heads"], "num_heads")
    return [q]


def _infer_encoder(name):
    def infer(inputs, p):
        (x,) = inputs
        require_sequence(name, x, "E")
        _heads_divide(x.shape[1], p["nhead"], "nhead")
        return [x]

    return infer


def _infer_decoder(inputs, p):
    target, memory = inputs
    require_sequence("TransformerDecoderLayer target", target, "E")
    require_sequence("TransformerDecoderLayer memory", memory, "E", "S")
    e, m = target.shape[1], memory.shape[1]
    if e != m:
        raise ShapeError(
            f"TransformerDecoderLayer target and memory must have the same embed dim, but target {target} "
            f"has {e} and memory {memory} has {m}: insert a Linear with out_features={e} on the memory"
        )
    _heads_divide(e, p["nhead"], "nhead")
    return [target]


def _infer_pool(inputs, p):
    (x,) = inputs
    require_sequence("SequencePool", x)
    return [TensorInfo((x.shape[1],))]


# ---------------------------------------------------------------------------------------
# FLOPs (per sample). With T query steps, S key steps and embed dim E:
#   self-attention  = in-projection 2·T·E·3E + out-projection 2·T·E² + Q·Kᵀ and A·V 2·2·T·T·E
#   cross-attention = Q 2·T·E² + K,V 2·S·E·2E + out 2·T·E² + 2·2·T·S·E
#   feed-forward    = 2 · 2·T·E·dim_feedforward


def _self_attention_flops(t, e):
    return 8 * t * e * e + 4 * t * t * e


def _cross_attention_flops(t, s, e):
    return 4 * t * e * e + 4 * s * e * e + 4 * t * s * e


def _feedforward_flops(t, e, ff):
    return 4 * t * e * ff


def _attention_flops(inputs, outputs, p):
    q, k, v, _ = _attention_inputs(inputs)
    (t, e), (s, kdim), vdim = q.shape, k.shape, v.shape[1]
    keys = s + p["add_bias_kv"] + p["add_zero_attn"]
    return 4 * t * e * e + 2 * s * e * (kdim + vdim) + 4 * t * keys * e


def _encoder_layer_flops(inputs, outputs, p):
    t, e = inputs[0].shape
    return _self_attention_flops(t, e) + _feedforward_flops(t, e, p["dim_feedforward"])


def _encoder_flops(inputs, outputs, p):
    return p["num_layers"] * _encoder_layer_flops(inputs, outputs, p)


def _decoder_flops(inputs, outputs, p):
    (t, e), (s, _) = inputs[0].shape, inputs[1].shape
    ff = p["dim_feedforward"]
    return _self_attention_flops(t, e) + _cross_attention_flops(t, s, e) + _feedforward_flops(t, e, ff)


# ---------------------------------------------------------------------------------------
# Constructors


def _construct_embedding(inputs, p):
    return Constructor("torch.nn.Embedding", dict(p), "nn.Embedding")


def _construct_positional(inputs, p):
    return Constructor("workbench.core.modules.sequence.PositionalEncoding", {"d_model": inputs[0].shape[-1], **p})


def _construct_attention(inputs, p):
    q, k, v, _ = _attention_inputs(inputs)
    e, kdim, vdim = q.shape[-1], k.shape[-1], v.shape[-1]
    dims = {} if kdim == vdim == e else {"kdim": kdim, "vdim": vdim}
    return Constructor("workbench.core.modules.attention.Attention", {"embed_dim": e, **p, **dims})


def _construct_encoder_layer(inputs, p):
    return Constructor(
        "torch.nn.TransformerEncoderLayer",
        {"d_model": inputs[0].shape[-1], **p, "batch_first": True},
        "nn.TransformerEncoderLayer",
    )


def _construct_encoder(inputs, p):
    return Constructor("workbench.core.modules.sequence.TransformerEncoderStack", {"d_model": inputs[0].shape[-1], **p})


def _construct_decoder(inputs, p):
    return Constructor("workbench.core.modules.sequence.TransformerDecoderBlock", {"d_model": inputs[0].shape[-1], **p})


# ---------------------------------------------------------------------------------------
# Specs


def _block_params():
    """Parameters shared by the Transformer blocks, in nn.TransformerEncoderLayer's order."""
    return (
        Param("nhead", INT, 4, "Attention heads; must divide the embed dim", min=1, max=1024),
        Param("dim_feedforward", INT, 2048, "Hidden width of the feed-forward network", min=1, max=1_000_000),
        Param("dropout", FLOAT, 0.1, "Dropout on attention weights and after each sub-block", min=0.0, max=1.0),
        Param("activation", CHOICE, "relu", "Activation inside the feed-forward network", choices=("relu", "gelu")),
        Param("layer_norm_eps", FLOAT, 1e-5, "Added to the variance in LayerNorm for stability", min=1e-12, max=1.0),
        Param("norm_first", BOOL, False, "Pre-norm (LayerNorm before each sub-block): trains more stably when deep"),
        Param("bias", BOOL, True, "Learn biases in the linear layers and LayerNorms"),
    )


EMBEDDING = LayerSpec(
    name="Embedding",
    category="sequence",
    doc="Looks up a learned vector for every integer token id: [N, T] → [N, T, embedding_dim].",
    params=(
        Param(
            "num_embeddings",
            INT,
            10000,
            "Vocabulary size: token ids run from 0 to num_embeddings - 1",
            min=1,
            max=100_000_000,
            from_data=("vocab_size",),
        ),
        Param("embedding_dim", INT, 128, "Length of each token's vector", min=1, max=65_536),
        Param(
            "padding_idx",
            INT,
            None,
            "Token id (e.g. 0 for <pad>) whose vector stays zero and is not trained; empty for none",
            min=0,
            max=100_000_000,
            optional=True,
        ),
    ),
    construct=_construct_embedding,
    infer=_infer_embedding,
    flops=no_flops,  # a table lookup: no multiply-accumulates
    check=_check_embedding,
)

POSITIONAL_ENCODING = LayerSpec(
    name="PositionalEncoding",
    category="sequence",
    doc="Adds position information (fixed sinusoids or learned vectors) to [N, T, E] so attention can see word order.",
    params=(
        Param(
            "kind",
            CHOICE,
            "sinusoidal",
            "sinusoidal: fixed sin/cos waves; learned: a trained vector per position",
            choices=("sinusoidal", "learned"),
        ),
        Param("max_len", INT, 512, "Longest sequence supported (T must not exceed it)", min=1, max=1_000_000),
        Param("dropout", FLOAT, 0.0, "Dropout applied after adding the positions", min=0.0, max=1.0),
    ),
    construct=_construct_positional,
    infer=_infer_positional,
    flops=no_flops,  # element-wise add
)

MULTIHEAD_ATTENTION = LayerSpec(
    name="MultiheadAttention",
    category="sequence",
    doc=(
        "nn.MultiheadAttention, batch first: the query [N, T, E] attends to the key/value [N, S, kdim/vdim] "
        "(key defaults to the query: self-attention; value to the key); an optional last int64 input [N, S] "
        "marks key steps to ignore (non-zero). Output [N, T, E]."
    ),
    params=(
        Param("num_heads", INT, 4, "Parallel attention heads; must divide the embed dim", min=1, max=1024),
        Param("dropout", FLOAT, 0.0, "Dropout on the attention weights during training", min=0.0, max=1.0),
        Param("bias", BOOL, True, "Learn biases in the input and output projections"),
        Param("causal", BOOL, False, "Query step t attends only to key steps 0..t (for generating text)"),
        Param("add_bias_kv", BOOL, False, "Learn an extra key and value step appended to every sequence"),
        Param("add_zero_attn", BOOL, False, "Append a step of zeros to the keys and values"),
    ),
    construct=_construct_attention,
    infer=_infer_attention,
    flops=_attention_flops,
    inputs=1,
    variadic=True,
    input_names=("query", "key", "value", "key_padding_mask"),
)

TRANSFORMER_ENCODER_LAYER = LayerSpec(
    name="TransformerEncoderLayer",
    category="sequence",
    doc="One Transformer encoder block over [N, T, E]: self-attention, then a feed-forward network (residual + LayerNorm).",
    params=_block_params(),
    construct=_construct_encoder_layer,
    infer=_infer_encoder("TransformerEncoderLayer"),
    flops=_encoder_layer_flops,
)

TRANSFORMER_ENCODER = LayerSpec(
    name="TransformerEncoder",
    category="sequence",
    doc="A stack of num_layers Transformer encoder blocks over [N, T, E]; causal for GPT-style models.",
    params=(
        Param("num_layers", INT, 2, "Encoder blocks stacked on each other", min=1, max=256),
        *_block_params(),
        Param("causal", BOOL, False, "Each step attends only to itself and earlier steps (for generating text)"),
    ),
    construct=_construct_encoder,
    infer=_infer_encoder("TransformerEncoder"),
    flops=_encoder_flops,
)

TRANSFORMER_DECODER_LAYER = LayerSpec(
    name="TransformerDecoderLayer",
    category="sequence",
    doc="One Transformer decoder block: self-attention over the target [N, T, E], then attention to the memory [N, S, E].",
    params=(
        *_block_params(),
        Param("causal", BOOL, True, "Each target step attends only to itself and earlier target steps"),
    ),
    construct=_construct_decoder,
    infer=_infer_decoder,
    flops=_decoder_flops,
    inputs=2,
    input_names=("target", "memory"),
)

SEQUENCE_POOL = LayerSpec(
    name="SequencePool",
    category="sequence",
    doc="Reduces [N, T, F] to [N, F] over time: the mean, the max, or the last or first step (e.g. a CLS token).",
    params=(
        Param(
            "mode",
            CHOICE,
            "mean",
            "mean / max over all steps, or take the last or the first step",
            choices=("mean", "max", "last", "first"),
        ),
    ),
    construct=lambda inputs, p: Constructor("workbench.core.modules.sequence.SequencePool", dict(p)),
    infer=_infer_pool,
    flops=no_flops,  # a reduction or a slice: no multiply-accumulates
)

SPECS = (
    EMBEDDING,
    POSITIONAL_ENCODING,
    MULTIHEAD_ATTENTION,
    TRANSFORMER_ENCODER_LAYER,
    TRANSFORMER_ENCODER,
    TRANSFORMER_DECODER_LAYER,
    SEQUENCE_POOL,
)
