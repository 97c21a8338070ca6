"""Regularisation: Dropout and channel-wise Dropout2d (active only in training mode)."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import FLOAT, Param
from workbench.core.tensors import require_float, require_rank


def _p(default: float, what: str) -> Param:
    return Param("p", FLOAT, default, f"Probability of zeroing {what} during training (0: off)", min=0.0, max=1.0)


def _infer_dropout(inputs, p):
    (x,) = inputs
    require_float("Dropout", x)
    return [x]


def _infer_dropout2d(inputs, p):
    (x,) = inputs
    require_float("Dropout2d", x)
    hint = "use Dropout" if x.rank < 3 else f"insert a Flatten with start_dim=2, end_dim={x.rank - 2} before it"
    require_rank("Dropout2d", x, 3, 4, hint=hint)
    return [x]


DROPOUT = LayerSpec(
    name="Dropout",
    category="regularisation",
    doc="Randomly zeroes values with probability p while training (scaling the rest by 1/(1-p)); does nothing in eval.",
    params=(_p(0.5, "each value"),),
    construct=lambda inputs, p: Constructor("torch.nn.Dropout", dict(p), "nn.Dropout"),
    infer=_infer_dropout,
    flops=no_flops,
)

DROPOUT2D = LayerSpec(
    name="Dropout2d",
    category="regularisation",
    doc="Randomly zeroes whole channels of [N, C, H, W] (or [N, C, L]) while training; suits conv features.",
    params=(_p(0.5, "each whole channel"),),
    construct=lambda inputs, p: Constructor("torch.nn.Dropout2d", dict(p), "nn.Dropout2d"),
    infer=_infer_dropout2d,
    flops=no_flops,
)

SPECS = (DROPOUT, DROPOUT2D)
