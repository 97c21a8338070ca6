"""Graph -> a standalone PyTorch source file that needs nothing from this project.

The file defines one nn.Module whose attributes carry the node ids, so it accepts the
state dict of the compiled GraphModule unchanged. Helper layers (Reshape, Concat, …)
are copied in as source; they are written to depend only on torch (and torchaudio or
torchvision where the layer itself does).
"""

from __future__ import annotations

import inspect
import textwrap

from workbench.core.blocks import build_block
from workbench.core.compile import ModelPlan, class_name, plan_model
from workbench.core.graph import Graph
from workbench.core.shapes import InferenceResult

__all__ = ["codegen"]

_MISSING = inspect.Parameter.empty


def codegen(graph: Graph, name: str = "Model", result: InferenceResult | None = None) -> str:
    """Source text of a module equivalent to compile_graph(graph). Raises CompileError."""
    plan = plan_model(graph, result)
    cls = class_name(name)
    helpers: dict[str, str] = {}
    qualnames: list[str] = []
    main_class = _class_source(graph, plan, cls, f"{name}: inputs {_describe_inputs(plan)}.", helpers, qualnames)
    text_parts = [_header(name, plan, helpers, qualnames)]
    text_parts.extend(helpers.values())
    text_parts.append(main_class)
    text_parts.append(_main_block(cls, plan))
    return "\n\n".join(part.rstrip() + "\n" for part in text_parts).replace("\n\n\n\n", "\n\n\n")


def _class_source(graph: Graph, plan: ModelPlan, cls: str, doc: str, helpers: dict[str, str], qualnames: list[str]) -> str:
    """One nn.Module class for `plan`; helper classes (and nested blocks) go into `helpers`."""
    init_lines, forward_lines = [], []
    multi = {s.node_id: s.outputs for s in plan.steps}
    for step in plan.steps:
        ctor = step.constructor
        node = graph.nodes[step.node_id]
        if node.type == "Block" and ctor.cls is build_block:
            callee = _block_class(ctor.kwargs["name"], ctor.kwargs["graph"], helpers, qualnames)
            init_lines.append(f"self.{step.node_id} = {callee}()")
        else:
            qualnames.append(ctor.qualname or "")
            if ctor.qualname is None:
                helpers.setdefault(ctor.cls.__name__, textwrap.dedent(inspect.getsource(ctor.cls)))
                callee = ctor.cls.__name__
            else:
                callee = ctor.qualname
            init_lines.append(f"self.{step.node_id} = {callee}({_arguments(ctor.cls, ctor.kwargs)})")
        args = ", ".join(_ref(s, multi) for s in step.sources)
        forward_lines.append(f"{step.node_id} = self.{step.node_id}({args})")
    returned = [_ref(s, multi) for s in plan.outputs]
    forward_lines.append("return " + (returned[0] if len(returned) == 1 else ", ".join(returned)))

    body = "\n".join([*(f"        {line}" for line in init_lines)]) or "        pass"
    forward = "\n".join(f"        {line}" for line in forward_lines)
    signature = ", ".join(["self", *plan.inputs])
    return (
        f"class {cls}(nn.Module):\n"
        f'    """{doc}"""\n\n'
        f"    def __init__(self):\n"
        f"        super().__init__()\n{body}\n\n"
        f"    def forward({signature}):\n{forward}\n"
    )


def _block_class(block: str, inner: Graph, helpers: dict[str, str], qualnames: list[str]) -> str:
    """Emit the class of a block's inner graph (once per distinct source) and return its name."""
    plan = plan_model(inner)
    stem = class_name(block) + "Block"
    for k in range(1, 1000):
        nested: dict[str, str] = {}
        cls = stem if k == 1 else f"{stem}{k}"
        source = _class_source(inner, plan, cls, f"Block {block}.", nested, qualnames)
        if helpers.get(cls, source) == source:
            break
    for key, text in nested.items():
        helpers.setdefault(key, text)
    helpers[cls] = source
    return cls


def _ref(source: tuple[str, int], multi: dict[str, int]) -> str:
    """How the source reads in forward: an item of a tuple when its layer returns several."""
    node_id, port = source
    return f"{node_id}[{port}]" if multi.get(node_id, 1) > 1 else node_id


def _arguments(cls: type, kwargs: dict) -> str:
    """Keyword arguments, leaving out those equal to the constructor's defaults."""
    try:
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    except (TypeError, ValueError):
        defaults = {}
    parts = []
    for key, value in kwargs.items():
        default = defaults.get(key, _MISSING)
        if default is not _MISSING and _same(default, value):
            continue
        parts.append(f"{key}={value!r}")
    return ", ".join(parts)


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and a == b
    except Exception:
        return False


def _header(name: str, plan: ModelPlan, helpers: dict[str, str], qualnames: list[str]) -> str:
    sources = " ".join(helpers.values()) + " ".join(qualnames)
    imports = ["import math", "", "import torch", "import torch.nn.functional as F", "from torch import nn"]
    for package in ("torchaudio", "torchvision"):
        if package in sources:
            imports.append(f"import {package}")
    doc = (
        f'"""{name} — generated by Model Workbench.\n\n'
        "Standalone PyTorch: it needs only torch"
        + (" and torchaudio/torchvision" if any(p in sources for p in ("torchaudio", "torchvision")) else "")
        + ".\nLoad trained weights with model.load_state_dict(torch.load(path, weights_only=True)).\n"
        '"""'
    )
    return doc + "\n\n" + "\n".join(imports)


def _describe_inputs(plan: ModelPlan) -> str:
    infos = plan.result.outputs
    return ", ".join(f"{i} {infos[i][0]} {infos[i][0].dtype}" for i in plan.inputs)


def _main_block(cls: str, plan: ModelPlan) -> str:
    lines = ['if __name__ == "__main__":', f"    model = {cls}().eval()"]
    args = []
    for input_id in plan.inputs:
        info = plan.result.outputs[input_id][0]
        shape = ", ".join(str(d) for d in info.full(2))
        if info.dtype == "int64":
            lines.append(f"    {input_id} = torch.randint(0, 2, ({shape},))")
        else:
            lines.append(f"    {input_id} = torch.randn({shape})")
        args.append(input_id)
    lines.append(f"    out = model({', '.join(args)})")
    lines.append("    print(out.shape if isinstance(out, torch.Tensor) else [o.shape for o in out])")
    return "\n".join(lines)
