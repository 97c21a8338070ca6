"""Per-sample tensor descriptions and the error a shape function raises.

Shapes are stored without the batch dimension (it is implicit and never changes), but
every message and every `dim` parameter counts the batch as dimension 0, as torch does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.core.params import MAX_INT

FLOAT = "float32"
INT = "int64"
DTYPES = (FLOAT, INT)


class ShapeError(Exception):
    """Raised by a shape function; the message is shown to the user on the node."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    shape: tuple[int, ...]  # per sample: batch excluded
    dtype: str = FLOAT

    @property
    def rank(self) -> int:
        """Rank including the batch dimension."""
        return len(self.shape) + 1

    def full(self, batch: int) -> tuple[int, ...]:
        return (batch, *self.shape)

    def __str__(self) -> str:
        return format_shape(self.shape)


# Per-sample elements past which no batch fits in any machine's memory and int64 element
# counts start to overflow (2**48 float32 values are 1 PiB).
MAX_ELEMENTS = 2**48


def size_problem(infos) -> str | None:
    """Why tensors of these per-sample shapes can never exist, or None when they can."""
    for info in infos:
        for d in info.shape:
            if not 0 <= d <= MAX_INT:
                return f"makes a tensor {format_shape(info.shape)}: every size must be between 0 and {MAX_INT}"
        if math.prod(info.shape) > MAX_ELEMENTS:
            return (f"makes a tensor {format_shape(info.shape)} of {math.prod(info.shape):.3g} elements per "
                    f"sample, more than any machine can hold (at most {MAX_ELEMENTS:.3g})")
    return None


def format_shape(shape) -> str:
    return "[" + ", ".join(["N", *(str(d) for d in shape)]) + "]"


def batch_dim_label(rank: int) -> str:
    names = {2: "[N, F]", 3: "[N, C, L]", 4: "[N, C, H, W]"}
    return names.get(rank, f"rank {rank}")


def sample_dim(dim: int, rank: int, what: str = "dim") -> int:
    """Translate a torch-style `dim` (batch = 0, negatives allowed) to a per-sample index.

    Refuses the batch dimension: no layer here may mix samples of a batch.
    """
    if not -rank <= dim < rank:
        raise ShapeError(f"{what}={dim} is out of range for a rank-{rank} tensor (valid: {-rank}..{rank - 1})")
    full = dim % rank
    if full == 0:
        raise ShapeError(f"{what}={dim} is the batch dimension; choose a dimension from 1 to {rank - 1}")
    return full - 1


def require_float(layer: str, info: TensorInfo) -> None:
    if info.dtype != FLOAT:
        raise ShapeError(f"{layer} needs float input but gets {info.dtype} token ids; insert an Embedding first")


def require_rank(layer: str, info: TensorInfo, *ranks: int, hint: str = "") -> None:
    if info.rank not in ranks:
        expected = " or ".join(batch_dim_label(r) for r in ranks)
        message = f"{layer} expects {expected} but gets {info}"
        raise ShapeError(f"{message}: {hint}" if hint else message)
