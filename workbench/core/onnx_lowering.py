"""Make onnx2torch's GraphModule traceable by torch.fx before the fx importer reads it.

An ONNX file computes shapes with tensors (Shape -> Gather -> Concat -> Reshape), and
onnx2torch's modules read those tensors with Python control flow, which symbolic tracing
cannot follow. Every value computed from input shapes and constants alone ("static") is
evaluated here at two batch sizes; each of its elements is then either a constant or a
linear function of the batch size (a*N + b: the only way exported shapes use the batch),
and the ops that consume such values — Reshape, Expand, Slice, Gather, Squeeze, Unsqueeze —
become plain tensor methods with those numbers. A static value that a compute op reads
(a scale factor such as sqrt(head_dim)) becomes a constant buffer. A few modules that
trace into functions the FxModule allow-list lacks become their torch.nn equivalents
(HardSigmoid, global average pooling), and Add/Sub/Mul/Div become operators. The
verification against onnxruntime afterwards checks the result.
"""

from __future__ import annotations

import operator

import torch
from torch import fx, nn

from workbench.core.fx_trace import ImportFailure

__all__ = ["lower_onnx_module"]

BATCHES = (2, 3)
INT_END = 2**62  # an ONNX Slice end at or past this means "to the end"
_CONSUMERS = ("OnnxReshape", "OnnxExpand", "OnnxSlice", "OnnxGather", "OnnxSqueezeDynamicAxes",
              "OnnxUnsqueezeDynamicAxes")
_BINARY = {torch.add: operator.add, torch.sub: operator.sub, torch.mul: operator.mul}


def lower_onnx_module(gm: fx.GraphModule, shapes) -> fx.GraphModule:
    """A rewritten copy of onnx2torch's `gm` (per-sample input `shapes`) that fx can trace."""
    values = [_record(gm, shapes, b) for b in BATCHES]
    static = _static_nodes(gm)
    graph = gm.graph
    batch_node = next(n for n in graph.nodes if n.op == "placeholder")
    lowering = _Lowering(gm, values, static, batch_node)
    for n in list(graph.nodes):
        if n in static or n.op not in ("call_module", "call_function"):
            continue
        lowering.rewrite(n)
    graph.eliminate_dead_code()
    gm.recompile()
    return gm


def _record(gm: fx.GraphModule, shapes, batch: int) -> dict:
    generator = torch.Generator().manual_seed(batch)
    inputs = [torch.randn((batch, *shape), generator=generator) for shape in shapes]
    seen: dict = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            seen[n] = result
            return result

    with torch.no_grad():
        try:
            Recorder(gm).run(*inputs)
        except Exception as exc:  # noqa: BLE001 - the file's own failure, reported
            raise ImportFailure(f"the converted model fails at batch {batch}: {type(exc).__name__}: "
                                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from None
    return seen


def _static_nodes(gm: fx.GraphModule) -> set:
    """Nodes whose value depends on input shapes and constants only."""
    static: set = set()
    for n in gm.graph.nodes:
        if n.op == "get_attr":
            static.add(n)
        elif n.op == "call_module":
            kind = type(gm.get_submodule(n.target)).__name__
            if kind == "OnnxShape" or all(i in static for i in n.all_input_nodes):
                static.add(n)
        elif n.op == "call_function" and n.all_input_nodes and all(i in static for i in n.all_input_nodes):
            static.add(n)
    return static


class _Lowering:
    def __init__(self, gm, values, static, batch_node) -> None:
        self.gm, self.values, self.static, self.batch_node = gm, values, static, batch_node
        self.graph = gm.graph
        self._batch = None
        self._constants = 0

    def rewrite(self, n: fx.Node) -> None:
        module = self.gm.get_submodule(n.target) if n.op == "call_module" else None
        kind = type(module).__name__ if module is not None else ""
        with self.graph.inserting_before(n):
            new = self._lowered(n, module, kind)
            if new is None:
                self._materialise_static_inputs(n)
                return
        for recorded in self.values:  # the new node computes the same value
            recorded[new] = recorded[n]
        n.replace_all_uses_with(new)
        self.graph.erase_node(n)

    # -- the lowered forms ---------------------------------------------------------------------
    def _lowered(self, n, module, kind):
        args = list(n.args)
        if kind in _CONSUMERS and all(isinstance(a, fx.Node) for a in args) and all(a in self.static for a in args[1:]):
            x = args[0]
            if kind == "OnnxReshape":
                sizes = [self._size(x, i) if e == 0 else e for i, e in enumerate(self._elements(args[1]))]
                return self.graph.call_method("reshape", (x, tuple(sizes)))
            if kind == "OnnxExpand":
                return self._expand(n, x, self._elements(args[1]))
            if kind == "OnnxSlice":
                return self._slice(x, [self._elements(a) for a in args[1:]])
            if kind == "OnnxGather":
                return self._gather(x, module._axis, args[1])
            if kind == "OnnxSqueezeDynamicAxes":
                axes = self._elements(args[1]) if len(args) > 1 else []
                return self.graph.call_method("squeeze", (x, tuple(axes))) if axes else self.graph.call_method("squeeze", (x,))
            if kind == "OnnxUnsqueezeDynamicAxes":
                for axis in sorted(self._elements(args[1])):
                    x = self.graph.call_method("unsqueeze", (x, axis))
                return x
        if kind == "OnnxBinaryMathOperation" and module.broadcast is None and len(args) == 2:
            return self._binary(n, module, args)
        if kind == "OnnxHardSigmoid" and abs(module.alpha - 1 / 6) < 1e-6 and module.beta == 0.5:
            return self._module(n, nn.Hardsigmoid(), args)
        if kind.startswith("OnnxGlobalAveragePool") and self.values[0][n].dim() == 4:
            return self._module(n, nn.AdaptiveAvgPool2d(1), args)
        return None

    def _binary(self, n, module, args):
        for a in args:
            if isinstance(a, fx.Node) and a in self.static and a.op != "get_attr":
                self._replace_with_constant(n, a)
        a, b = n.args
        fn = _BINARY.get(module.math_op_function)
        if fn is None:  # Div: true division of floats, floor division of integers (ONNX)
            fn = operator.truediv if self.values[0][n].is_floating_point() else operator.floordiv
        return self.graph.call_function(fn, (a, b))

    def _module(self, n, replacement: nn.Module, args):
        name = n.target.replace(".", "_") + "_lowered"
        self.gm.add_submodule(name, replacement)
        return self.graph.call_module(name, tuple(args))

    def _expand(self, n, x, sizes):
        rank_in = self.values[0][x].dim()
        lead = len(sizes) - rank_in
        sizes = [-1 if i >= lead and e == 1 else e for i, e in enumerate(sizes)]
        return self.graph.call_method("expand", (x, tuple(sizes)))

    def _slice(self, x, parts):
        starts, ends = parts[0], parts[1]
        rank = self.values[0][x].dim()
        axes = parts[2] if len(parts) > 2 else list(range(len(starts)))
        steps = parts[3] if len(parts) > 3 else [1] * len(starts)
        index = [slice(None)] * rank
        for start, end, axis, step in zip(starts, ends, axes, steps):
            if not isinstance(step, int) or step < 1:
                raise ImportFailure(f"a Slice with step {step} cannot be imported")
            end = None if isinstance(end, int) and end >= INT_END else end
            index[axis % rank] = slice(start, end, step)
        return self.graph.call_function(operator.getitem, (x, tuple(index)))

    def _gather(self, x, axis: int, indices: fx.Node):
        value = self.values[0][indices]
        if not torch.equal(value, self.values[1][indices]):
            raise ImportFailure("a Gather whose indices change with the batch size cannot be imported")
        rank = self.values[0][x].dim()
        lead = (slice(None),) * (axis % rank)
        index = int(value) if value.dim() == 0 else value.tolist()
        return self.graph.call_function(operator.getitem, (x, (*lead, index)))

    # -- static values ----------------------------------------------------------------------------
    def _elements(self, n: fx.Node) -> list:
        """The static 0-d/1-d integer value `n` as ints and batch expressions."""
        first, second = (v[n] for v in self.values)
        if not isinstance(first, torch.Tensor) or first.dim() > 1 or first.is_floating_point():
            raise ImportFailure(f"a shape computed by {n.name} is not a list of whole numbers")
        out = []
        for v2, v3 in zip(first.reshape(-1).tolist(), second.reshape(-1).tolist()):
            slope = v3 - v2
            out.append(v2 if slope == 0 else self._linear(slope, v2 - BATCHES[0] * slope))
        return out

    def _linear(self, slope: int, offset: int):
        if self._batch is None:
            with self.graph.inserting_after(self.batch_node):
                self._batch = self.graph.call_method("size", (self.batch_node, 0))
        node = self._batch if slope == 1 else self.graph.call_function(operator.mul, (self._batch, slope))
        return node if offset == 0 else self.graph.call_function(operator.add, (node, offset))

    def _size(self, x, i: int):
        return self.graph.call_method("size", (x, i))

    def _materialise_static_inputs(self, n: fx.Node) -> None:
        for a in n.all_input_nodes:
            if a in self.static and a.op != "get_attr":
                self._replace_with_constant(n, a)

    def _replace_with_constant(self, n: fx.Node, a: fx.Node) -> None:
        first, second = (v[a] for v in self.values)
        if not isinstance(first, torch.Tensor):
            return
        if not torch.equal(first, second):
            if a.op == "call_module" and type(self.gm.get_submodule(a.target)).__name__ in _CONSUMERS:
                self.static.discard(a)  # a tensor built from constants to the batch's size (a class token)
                self.rewrite(a)
                return
            raise ImportFailure(f"{n.name} reads a value that changes with the batch size ({a.name}); "
                                f"it cannot be imported")
        name = f"onnx_static_{self._constants}"
        self._constants += 1
        self.gm.register_buffer(name, first.clone())
        n.replace_input_with(a, self.graph.get_attr(name))
