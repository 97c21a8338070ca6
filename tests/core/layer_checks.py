"""Shared checks that hold a layer's shape and FLOPs formulas against a real forward pass."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from workbench.core.catalog import default_catalog
from workbench.core.flop_count import decomposed
from workbench.core.tensors import INT, TensorInfo


def random_input(info: TensorInfo, batch: int, high: int = 10) -> torch.Tensor:
    if info.dtype == INT:
        return torch.randint(0, high, info.full(batch))
    return torch.randn(info.full(batch))


def run_layer(type_name: str, params: dict, inputs: list[TensorInfo], batch: int, high: int = 10):
    """Build the layer for `inputs` and run it in eval mode; returns (module, outputs)."""
    spec = default_catalog().get(type_name)
    resolved = spec.resolve(params)
    module = spec.build(inputs, resolved).eval()
    tensors = [random_input(info, batch, high) for info in inputs]
    with torch.no_grad():
        out = module(*tensors)
    return module, (out if isinstance(out, tuple) else (out,))


def assert_layer_matches(type_name: str, params: dict, inputs: list[TensorInfo], *, batches=(1, 3), high: int = 10):
    """Inferred shapes equal real forward shapes at several batch sizes; FLOPs equal
    FlopCounterMode's count for one sample. Returns the inferred outputs."""
    spec = default_catalog().get(type_name)
    resolved = spec.resolve(params)
    inferred = list(spec.infer(inputs, resolved))
    for batch in batches:
        _, outs = run_layer(type_name, params, inputs, batch, high)
        got = [tuple(o.shape) for o in outs]
        want = [info.full(batch) for info in inferred]
        assert got == want, f"{type_name}{params} on {[str(i) for i in inputs]}: forward {got}, inferred {want}"
        for o, info in zip(outs, inferred):
            assert str(o.dtype).removeprefix("torch.") == info.dtype, f"{type_name}: dtype {o.dtype} vs {info.dtype}"
    if spec.flops is not None:
        module = spec.build(inputs, resolved).eval()
        tensors = [random_input(info, 1, high) for info in inputs]
        counter = FlopCounterMode(display=False)
        with decomposed(), counter, torch.no_grad():
            module(*tensors)
        expected = counter.get_total_flops()
        assert spec.flops(inputs, inferred, resolved) == expected, (
            f"{type_name}{params}: formula {spec.flops(inputs, inferred, resolved)} FLOPs, counted {expected}"
        )
    return inferred
