"""Graph -> a standalone PyTorch source file that needs nothing from this project.

The file defines one nn.Module whose attributes carry the node ids, so it accepts the
state dict of the compiled GraphModule unchanged. Helper layers (Reshape, Concat, …)
are copied in as source; they are written to depend only on torch (and torchaudio or
torchvision where the layer itself does).

The file is also run (export verification imports it), so nothing a project names may
become code: names and text reach docstrings only through `doc_text` (escaped), values
only as literals of plain data, and every identifier is a checked node id or a class
name made from letters and digits that no other name in the file uses.
"""

from __future__ import annotations

import inspect
import keyword
import math
from dataclasses import dataclass
from typing import Callable

from workbench.core.blocks import build_block
from workbench.core.compile import CompileError, ModelPlan, class_name, plan_model
from workbench.core.graph import Graph
from workbench.core.shapes import InferenceResult
from workbench.core.source_copy import helper_sources
from workbench.core.tying import assignments

__all__ = ["Generated", "codegen", "doc_text", "generate"]

_MISSING = inspect.Parameter.empty
# module-level names of the generated file (and of export's loader) that a class must not take
_FILE_NAMES = frozenset({"math", "torch", "F", "nn", "torchaudio", "torchvision", "load", "model", "out"})


@dataclass(frozen=True)
class Generated:
    """The source text and the name of its top-level model class."""

    source: str
    class_name: str


def codegen(graph: Graph, name: str = "Model", result: InferenceResult | None = None) -> str:
    """Source text of a module equivalent to compile_graph(graph). Raises CompileError."""
    return generate(graph, name, result).source


def generate(graph: Graph, name: str = "Model", result: InferenceResult | None = None) -> Generated:
    """codegen, also saying which class is the model. Raises CompileError."""
    plan = plan_model(graph, result)
    plans: dict[int, ModelPlan] = {id(graph): plan}

    def plan_of(inner: Graph) -> ModelPlan:
        if id(inner) not in plans:
            plans[id(inner)] = plan_model(inner)
        return plans[id(inner)]

    writer = _Writer(_helper_names(graph, plan_of), plan_of)
    cls = writer.claim(class_name(name))
    main_class = _class_text(cls, writer.body(graph, plan, f"{name}: inputs {_describe_inputs(plan)}."))
    text_parts = [_header(name, writer)]
    text_parts.extend(writer.classes.values())
    text_parts.append(main_class)
    text_parts.append(_main_block(cls, plan))
    source = "\n\n".join(part.rstrip() + "\n" for part in text_parts).replace("\n\n\n\n", "\n\n\n")
    return Generated(source, cls)


def doc_text(text: str) -> str:
    """`text` escaped to stand inside a triple-quoted docstring or a comment: no quote, newline,
    backslash or control character of its own survives unescaped; the docstring reads back as `text`."""
    return repr(str(text))[1:-1].replace('"', '\\"')


def _helper_names(graph: Graph, plan_of: Callable[[Graph], ModelPlan]) -> set[str]:
    """Class names of the helper layers copied in, over the graph and every block in it."""
    names: set[str] = set()
    stack = [graph]
    while stack:
        g = stack.pop()
        for step in plan_of(g).steps:
            ctor = step.constructor
            if g.nodes[step.node_id].type == "Block" and ctor.cls is build_block:
                stack.append(ctor.kwargs["graph"])
            elif ctor.qualname is None:
                names.update(helper_sources(ctor.module_class))
    return names


class _Writer:
    """Collects the classes a file needs (helpers copied in, one per distinct block body) and their names."""

    def __init__(self, helper_names: set[str], plan_of: Callable[[Graph], ModelPlan]) -> None:
        self.taken = set(_FILE_NAMES) | helper_names
        self.classes: dict[str, str] = {}  # class name -> source, in the order they must appear
        self.qualnames: list[str] = []
        self._blocks: dict[tuple[str, str], str] = {}  # (block name, body) -> class name
        self._plan_of = plan_of

    def claim(self, stem: str) -> str:
        """`stem`, or `stem2`, `stem3`, … : a class name no other name in the file has."""
        cls, k = stem, 1
        while cls in self.taken or keyword.iskeyword(cls):
            k += 1
            cls = f"{stem}{k}"
        self.taken.add(cls)
        return cls

    def body(self, graph: Graph, plan: ModelPlan, doc: str) -> str:
        """The class body for `plan` (docstring, __init__, forward); what it uses goes into `classes`."""
        init_lines, forward_lines = [], []
        multi = {s.node_id: s.outputs for s in plan.steps}
        for step in plan.steps:
            ctor = step.constructor
            node = graph.nodes[step.node_id]
            if node.type == "Block" and ctor.cls is build_block:
                callee = self._block_class(ctor.kwargs["name"], ctor.kwargs["graph"])
                init_lines.append(f"self.{step.node_id} = {callee}()")
            else:
                self.qualnames.append(ctor.qualname or "")
                if ctor.qualname is None:
                    for helper, text in helper_sources(ctor.module_class).items():
                        self.classes.setdefault(helper, text)
                    callee = ctor.module_class.__name__
                else:
                    callee = ctor.qualname
                init_lines.append(f"self.{step.node_id} = {callee}({_arguments(step.node_id, ctor.module_class, ctor.kwargs)})")
            args = ", ".join(_ref(s, multi) for s in step.sources)
            forward_lines.append(f"{step.node_id} = self.{step.node_id}({args})")
        for target, source in assignments(plan.ties):
            init_lines.append(f"self.{target}.weight = self.{source}.weight  # tied: one parameter under both names")
        returned = [_ref(s, multi) for s in plan.outputs]
        forward_lines.append("return " + (returned[0] if len(returned) == 1 else ", ".join(returned)))

        init = "\n".join(f"        {line}" for line in init_lines) or "        pass"
        forward = "\n".join(f"        {line}" for line in forward_lines)
        signature = ", ".join(["self", *plan.inputs])
        return (
            f'    """{doc_text(doc)}"""\n\n'
            f"    def __init__(self):\n"
            f"        super().__init__()\n{init}\n\n"
            f"    def forward({signature}):\n{forward}\n"
        )

    def _block_class(self, block: str, inner: Graph) -> str:
        """The class of a block's inner graph: one per distinct body, emitted after what it uses."""
        body = self.body(inner, self._plan_of(inner), f"Block {block}.")
        key = (block, body)
        if key not in self._blocks:
            cls = self.claim(class_name(block) + "Block")
            self._blocks[key] = cls
            self.classes[cls] = _class_text(cls, body)
        return self._blocks[key]


def _class_text(cls: str, body: str) -> str:
    return f"class {cls}(nn.Module):\n{body}"


def _ref(source: tuple[str, int], multi: dict[str, int]) -> str:
    """How the source reads in forward: an item of a tuple when its layer returns several."""
    node_id, port = source
    return f"{node_id}[{port}]" if multi.get(node_id, 1) > 1 else node_id


def _arguments(node_id: str, cls: type, kwargs: dict) -> str:
    """Keyword arguments, leaving out those equal to the constructor's defaults."""
    try:
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    except (TypeError, ValueError):
        defaults = {}
    parts, odd = [], {}
    for key, value in kwargs.items():
        default = defaults.get(key, _MISSING)
        if default is not _MISSING and _same(default, value):
            continue
        text = _literal(value)
        if text is None:
            raise CompileError(node_id, f"parameter {key!r} holds a {type(value).__name__}, which cannot be written as source")
        key = str(key)
        if key.isidentifier() and not keyword.iskeyword(key):
            parts.append(f"{key}={text}")
        else:
            odd[key] = text
    if odd:
        parts.append("**{" + ", ".join(f"{k!r}: {v}" for k, v in odd.items()) + "}")
    return ", ".join(parts)


def _literal(value, depth: int = 0) -> str | None:
    """Python source for plain data (None, bool, int, float, str, and lists/tuples/dicts of them);
    None for anything else. Subclasses are written as their base type, never by their own repr."""
    if depth > 100:
        return None
    if value is None or isinstance(value, bool):
        return repr(value)
    for base in (int, str):
        if isinstance(value, base):
            return repr(base(value))
    if isinstance(value, float):
        value = float(value)
        return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"
    if isinstance(value, (list, tuple)):
        items = [_literal(v, depth + 1) for v in value]
        if None in items:
            return None
        if isinstance(value, list):
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = [(_literal(k, depth + 1), _literal(v, depth + 1)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return None


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and a == b
    except Exception:
        return False


def _header(name: str, writer: _Writer) -> str:
    sources = " ".join(writer.classes.values()) + " ".join(writer.qualnames)
    imports = ["import math", "", "import torch", "import torch.nn.functional as F", "from torch import nn"]
    for package in ("torchaudio", "torchvision"):
        if package in sources:
            imports.append(f"import {package}")
    doc = (
        f'"""{doc_text(name)} — generated by Model Workbench.\n\n'
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
    """A demo run on random inputs, passed by keyword so no input id can shadow a name used here."""
    lines = ['if __name__ == "__main__":', f"    model = {cls}().eval()"]
    args = []
    for input_id in plan.inputs:
        info = plan.result.outputs[input_id][0]
        shape = ", ".join(str(d) for d in info.full(2))
        if info.dtype == "int64":
            args.append(f"{input_id}=torch.randint(0, 2, ({shape},))")
        else:
            args.append(f"{input_id}=torch.randn({shape})")
    lines.append(f"    out = model({', '.join(args)})")
    lines.append("    print(out.shape if isinstance(out, torch.Tensor) else [o.shape for o in out])")
    return "\n".join(lines)
