"""FLOPs of a layer that has no formula, counted by torch on a meta-tensor forward.

FxModule nodes (imported code), plugin layers and any other spec without a `flops`
formula are run once under `torch.utils.flop_counter.FlopCounterMode`, on the meta device
(nothing is allocated): the same counter every built-in formula is held against, so
counted and formula figures add up. Results are memoised like parameter counts.

The count runs torch's decomposed path (`decomposed`): on CPU in eval mode torch may pick
fused kernels that the counter cannot see into (the MultiheadAttention / encoder-layer
fast path, oneDNN recurrent kernels, flash attention), which would count 0.
"""

from __future__ import annotations

import contextlib
import math
import warnings

from workbench.core.catalog import LayerSpec
from workbench.core.shapes import freeze
from workbench.core.tensors import INT

__all__ = ["counted_flops", "decomposed"]

# One sample, as FlopCounterMode counts a model (work that does not grow with the batch, such
# as Swin-v2's position-bias MLP, counts whole); two samples halved when one cannot run.
_BATCHES = (1, 2)
_CPU_FALLBACK_ELEMENTS = 2**24  # a layer that cannot run on meta is run on CPU only when this small
_cache: dict = {}


@contextlib.contextmanager
def decomposed():
    """Make torch run the decomposed path whose matmuls FlopCounterMode can see."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings():  # toggling oneDNN warns about Intel-GPU TF32
            warnings.filterwarnings("ignore", "TF32 acceleration on top of oneDNN")
            with torch.backends.mkldnn.flags(enabled=False), sdpa_kernel(SDPBackend.MATH):
                yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def counted_flops(spec: LayerSpec, resolved: dict, inputs: tuple) -> int | None:
    """Per-sample FLOPs of one forward of the layer, or None when it cannot be run; memoised."""
    key = (spec.name, id(spec), freeze(resolved), inputs)
    try:
        hash(key)
    except TypeError:
        return _count(spec, resolved, inputs)
    if key not in _cache:
        _cache[key] = _count(spec, resolved, inputs)
    return _cache[key]


def _count(spec: LayerSpec, resolved: dict, inputs: tuple) -> int | None:
    if spec.construct is None:
        return None
    for device in ("meta", "cpu"):  # some layers cannot be built or run on meta (they read values)
        if device == "cpu" and sum(math.prod(i.full(_BATCHES[-1])) for i in inputs) > _CPU_FALLBACK_ELEMENTS:
            return None
        for batch in _BATCHES:
            try:
                return _run(spec, resolved, inputs, device, batch)
            except Exception:  # a plugin's forward failed: the node has no figure, the rest still add up
                continue
    return None


def _run(spec: LayerSpec, resolved: dict, inputs: tuple, device: str, batch: int) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if device == "meta":
        try:
            with torch.device("meta"):
                module = spec.build(list(inputs), resolved)
        except Exception:  # built on CPU, then moved, as shape inference does
            module = spec.build(list(inputs), resolved).to("meta")
    else:
        module = spec.build(list(inputs), resolved)
    module.eval()
    tensors = [
        torch.zeros(i.full(batch), dtype=torch.int64 if i.dtype == INT else torch.float32, device=device)
        for i in inputs
    ]
    counter = FlopCounterMode(display=False)
    with decomposed(), counter, torch.no_grad():
        module(*tensors)
    return counter.get_total_flops() // batch
