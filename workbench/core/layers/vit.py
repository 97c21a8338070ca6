"""Sequence layers for Vision Transformers and more: PatchEmbedding (image to a sequence of
patch vectors), ClassToken (prepend a learned token), a TransformerDecoder stack and
EmbeddingBag (pooled token embeddings). With PositionalEncoding(kind="learned"),
TransformerEncoder, Select (index 0) and Linear, a ViT is built by mouse.
"""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.conv import MAX_CHANNELS, require_spatial, window_output
from workbench.core.layers.recurrent import require_sequence
from workbench.core.layers.sequence import _block_params, _decoder_flops, _heads_divide
from workbench.core.params import BOOL, CHOICE, INT, Param, ParamError
from workbench.core.tensors import FLOAT as FLOAT32
from workbench.core.tensors import INT as INT64
from workbench.core.tensors import ShapeError, TensorInfo

_MODULES = "workbench.core.modules.vit."


def _infer_patches(inputs, p):
    (x,) = inputs
    require_spatial("PatchEmbedding", x, 2)
    k = p["patch_size"]
    h, w = window_output("PatchEmbedding", x.shape[1:], (k, k), (k, k), (0, 0), (0, 0), (1, 1))
    return [TensorInfo((h * w, p["embed_dim"]))]


def _patch_flops(inputs, outputs, p):
    c = inputs[0].shape[0]
    patches, e = outputs[0].shape
    return 2 * patches * e * c * p["patch_size"] ** 2


PATCH_EMBEDDING = LayerSpec(
    name="PatchEmbedding",
    category="sequence",
    doc=(
        "Cuts an image [N, C, H, W] into patch_size × patch_size patches and projects each to embed_dim: "
        "[N, (H/p)·(W/p), embed_dim] (a ViT's first layer; sizes not divisible by p drop the border)."
    ),
    params=(
        Param("embed_dim", INT, 192, "Length of each patch vector", min=1, max=MAX_CHANNELS),
        Param("patch_size", INT, 16, "Side of each square patch", min=1, max=1024),
        Param("bias", BOOL, True, "Learn an additive bias in the projection"),
    ),
    construct=lambda inputs, p: Constructor(_MODULES + "PatchEmbedding", {"in_channels": inputs[0].shape[0], **p}),
    infer=_infer_patches,
    flops=_patch_flops,
)


def _infer_class_token(inputs, p):
    (x,) = inputs
    require_sequence("ClassToken", x, "E")
    t, e = x.shape
    return [TensorInfo((t + 1, e))]


CLASS_TOKEN = LayerSpec(
    name="ClassToken",
    category="sequence",
    doc="Prepends one learned token to every sequence: [N, T, E] → [N, T+1, E]; read it back with Select (dim 1, index 0).",
    construct=lambda inputs, p: Constructor(_MODULES + "ClassToken", {"embed_dim": inputs[0].shape[-1]}),
    infer=_infer_class_token,
    flops=no_flops,
)


def _infer_decoder_stack(inputs, p):
    target, memory = inputs
    require_sequence("TransformerDecoder target", target, "E")
    require_sequence("TransformerDecoder memory", memory, "E", "S")
    e, m = target.shape[1], memory.shape[1]
    if e != m:
        raise ShapeError(
            f"TransformerDecoder target and memory must have the same embed dim, but target {target} has {e} and "
            f"memory {memory} has {m}: insert a Linear with out_features={e} on the memory"
        )
    _heads_divide(e, p["nhead"], "nhead")
    return [target]


TRANSFORMER_DECODER = LayerSpec(
    name="TransformerDecoder",
    category="sequence",
    doc="A stack of num_layers Transformer decoder blocks: the target [N, T, E] attends to itself and to the memory [N, S, E].",
    params=(
        Param("num_layers", INT, 2, "Decoder blocks stacked on each other", min=1, max=256),
        *_block_params(),
        Param("causal", BOOL, True, "Each target step attends only to itself and earlier target steps"),
    ),
    construct=lambda inputs, p: Constructor(_MODULES + "TransformerDecoderStack", {"d_model": inputs[0].shape[-1], **p}),
    infer=_infer_decoder_stack,
    flops=lambda inputs, outputs, p: p["num_layers"] * _decoder_flops(inputs, outputs, p),
    inputs=2,
    input_names=("target", "memory"),
)


def _check_bag(p):
    pad, n = p["padding_idx"], p["num_embeddings"]
    if pad is not None and pad >= n:
        raise ParamError("padding_idx", f"must be a token id below num_embeddings ({n}), got {pad}")


def _infer_bag(inputs, p):
    (x,) = inputs
    if x.dtype != INT64:
        raise ShapeError(f"EmbeddingBag needs integer token ids (int64) but gets {x.dtype}: set the Input dtype to int64")
    if x.rank != 2:
        raise ShapeError(f"EmbeddingBag expects one bag of token ids per sample, [N, T], but gets {x}")
    return [TensorInfo((p["embedding_dim"],), FLOAT32)]


EMBEDDING_BAG = LayerSpec(
    name="EmbeddingBag",
    category="sequence",
    doc="Looks up a vector per token id and pools each sample's bag of them: [N, T] → [N, embedding_dim] (fast text classifiers).",
    params=(
        Param("num_embeddings", INT, 10000, "Vocabulary size: token ids run from 0 to num_embeddings - 1",
              min=1, max=100_000_000, from_data=("vocab_size",)),
        Param("embedding_dim", INT, 128, "Length of each vector", min=1, max=65_536),
        Param("mode", CHOICE, "mean", "How a bag's vectors are pooled", choices=("mean", "sum", "max")),
        Param("padding_idx", INT, None, "Token id left out of every bag (e.g. 0 for <pad>); empty for none",
              min=0, max=100_000_000, optional=True),
    ),
    construct=lambda inputs, p: Constructor("torch.nn.EmbeddingBag", dict(p), "nn.EmbeddingBag"),
    infer=_infer_bag,
    flops=no_flops,  # table lookups and a pooling
    check=_check_bag,
)

SPECS = (PATCH_EMBEDDING, CLASS_TOKEN, TRANSFORMER_DECODER, EMBEDDING_BAG)
