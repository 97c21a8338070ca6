"""Layers that compare or combine two inputs feature by feature: Bilinear (x1ᵀ A x2 + b),
CosineSimilarity and PairwiseDistance (Siamese and metric-learning heads)."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import BOOL, FLOAT, INT, Param
from workbench.core.tensors import ShapeError, TensorInfo, require_float, sample_dim


def _two_floats(name: str, inputs) -> None:
    for x in inputs:
        require_float(name, x)


def _infer_bilinear(inputs, p):
    a, b = inputs
    _two_floats("Bilinear", inputs)
    if a.shape[:-1] != b.shape[:-1] or not a.shape:
        raise ShapeError(f"Bilinear needs inputs that differ only in their last size, [N, …, F1] and [N, …, F2], got {a} and {b}")
    return [TensorInfo((*a.shape[:-1], p["out_features"]))]


BILINEAR = LayerSpec(
    name="Bilinear",
    category="dense",
    doc="y = x1ᵀ A x2 + b over the last dimensions of two inputs (feature interactions, fusion of two modalities).",
    params=(
        Param("out_features", INT, 16, "Number of output features", min=1, max=1_000_000),
        Param("bias", BOOL, True, "Learn an additive bias"),
    ),
    construct=lambda inputs, p: Constructor(
        "torch.nn.Bilinear",
        {"in1_features": inputs[0].shape[-1], "in2_features": inputs[1].shape[-1], **p},
        "nn.Bilinear",
    ),
    infer=_infer_bilinear,
    # torch runs it as aten._trilinear, which FlopCounterMode does not count (it does about
    # rows·F1·F2·out multiply-adds); 0 keeps the formula and the counted figures one scale
    flops=no_flops,
    inputs=2,
    input_names=("x1", "x2"),
)


def _same_shape(name: str, inputs) -> TensorInfo:
    a, b = inputs
    _two_floats(name, inputs)
    if a.shape != b.shape:
        raise ShapeError(f"{name} compares inputs of one shape, got {a} and {b}")
    return a


def _infer_cosine(inputs, p):
    x = _same_shape("CosineSimilarity", inputs)
    axis = sample_dim(p["dim"], x.rank)
    return [TensorInfo(x.shape[:axis] + x.shape[axis + 1 :])]


def _infer_pairwise(inputs, p):
    x = _same_shape("PairwiseDistance", inputs)
    return [TensorInfo((*x.shape[:-1], 1) if p["keepdim"] else x.shape[:-1])]


COSINE_SIMILARITY = LayerSpec(
    name="CosineSimilarity",
    category="similarity",
    doc="Cosine of the angle between two inputs along `dim` (1: features), in [-1, 1]; that dimension disappears.",
    params=(
        Param("dim", INT, 1, "Dimension compared (batch is 0; negatives count from the end)"),
        Param("eps", FLOAT, 1e-8, "Lower bound on the norms, against dividing by zero", min=0.0, max=1.0),
    ),
    construct=lambda inputs, p: Constructor("torch.nn.CosineSimilarity", dict(p), "nn.CosineSimilarity"),
    infer=_infer_cosine,
    flops=no_flops,
    inputs=2,
    input_names=("x1", "x2"),
)

PAIRWISE_DISTANCE = LayerSpec(
    name="PairwiseDistance",
    category="similarity",
    doc="The p-norm distance ‖x1 − x2 + eps‖ₚ over the last dimension (Siamese networks, triplet losses).",
    params=(
        Param("p", FLOAT, 2.0, "The norm's degree (2: Euclidean, 1: Manhattan)", min=0.0, max=100.0),
        Param("eps", FLOAT, 1e-6, "Added to the difference, against a zero norm's gradient", min=0.0, max=1.0),
        Param("keepdim", BOOL, False, "Keep the last dimension as size 1"),
    ),
    construct=lambda inputs, p: Constructor("workbench.core.modules.similarity.PairwiseDistance", dict(p)),
    infer=_infer_pairwise,
    flops=no_flops,
    inputs=2,
    input_names=("x1", "x2"),
)

SPECS = (BILINEAR, COSINE_SIMILARITY, PAIRWISE_DISTANCE)
