"""Import an ONNX file as a project: onnx2torch -> torch.fx GraphModule -> the fx importer.

The file is data (DESIGN.md §9) and is checked before anything is converted: a regular
file of at most MAX_FILE_BYTES, only the standard ONNX operator domain (no custom domains,
no model-local functions), external data only in files inside the model's own folder and
within their size, and every statically known value at most MAX_ELEMENTS elements. Every
operator onnx2torch has no converter for is named in one error, before converting.

The initialisers become the project's weights (`ImportResult.state_dict`, saved beside the
project as the fx importer does); `verify_onnx` runs the imported graph in torch and the
original file in onnxruntime on random inputs and reports the largest absolute difference.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.fx_trace import ImportFailure

__all__ = ["MAX_FILE_BYTES", "OnnxImport", "import_onnx", "initialiser_count", "load_onnx", "missing_converters", "onnx_input_shapes", "verify_onnx"]

MAX_FILE_BYTES = 2**31  # protobuf's own limit for one message
MAX_EXTERNAL_BYTES = 2**34
MAX_ELEMENTS = 2**30  # per value, as FxModule allows
STANDARD_DOMAINS = ("", "ai.onnx")
OLDEST_FALLBACK = 13  # _older_opset tries opsets 17 down to this
TOLERANCE = 1e-4  # as export verification (DESIGN.md §7)


def load_onnx(path: Path):
    """The checked ModelProto, external data loaded. Raises ImportFailure saying what is wrong."""
    import onnx

    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise ImportFailure(f"{path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ImportFailure(f"{path}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ImportFailure(f"{path}: {info.st_size} bytes is larger than an ONNX file can be ({MAX_FILE_BYTES})")
    try:
        with open(path, "rb") as handle:
            model = onnx.load_model_from_string(handle.read(MAX_FILE_BYTES + 1))
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError and friends
        raise ImportFailure(f"{path}: not an ONNX model ({type(exc).__name__}: {_first(exc)})") from None
    _check_domains(model, path)
    _load_external_data(model, path.parent.resolve(), path)
    return model


def _check_domains(model, path: Path) -> None:
    custom = sorted({o.domain for o in model.opset_import if o.domain not in STANDARD_DOMAINS}
                    | {n.domain for n in _all_nodes(model.graph) if n.domain not in STANDARD_DOMAINS})
    if custom:
        raise ImportFailure(f"{path}: uses operator domain(s) {', '.join(map(repr, custom))}; only the standard "
                            f"ONNX operators can be imported")
    if len(model.functions):
        raise ImportFailure(f"{path}: defines its own functions ({', '.join(f.name for f in model.functions)}); "
                            f"only the standard ONNX operators can be imported")


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in [attr.g, *attr.graphs] if (attr.HasField("g") or len(attr.graphs)) else []:
                yield from _all_nodes(sub)


def _load_external_data(model, folder: Path, path: Path) -> None:
    """Tensors stored in other files: only files in the model's folder, read within bounds."""
    from onnx import TensorProto
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    total = 0
    for tensor in _get_all_tensors(model):
        if not uses_external_data(tensor):
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        location = entries.get("location", "")
        where = (folder / location).resolve()
        if not location or os.path.isabs(location) or where.parent != folder or not where.is_file():
            raise ImportFailure(f"{path}: tensor {tensor.name!r} keeps its data in {location!r}, which is not a "
                                f"file beside the model; refusing to read it")
        size = where.stat().st_size
        offset = _whole(entries.get("offset", "0"), path)
        length = _whole(entries["length"], path) if "length" in entries else size - offset
        if offset + length > size or length < 0:
            raise ImportFailure(f"{path}: tensor {tensor.name!r} reads past the end of {location!r}")
        total += length
        if total > MAX_EXTERNAL_BYTES:
            raise ImportFailure(f"{path}: its external data exceeds {MAX_EXTERNAL_BYTES} bytes")
        with open(where, "rb") as handle:
            handle.seek(offset)
            tensor.raw_data = handle.read(length)
        tensor.data_location = TensorProto.DEFAULT
        del tensor.external_data[:]


def _whole(text: str, path: Path) -> int:
    if not re.fullmatch(r"\d{1,19}", text or ""):
        raise ImportFailure(f"{path}: an external-data offset or length is not a whole number: {text!r}")
    return int(text)


def onnx_input_shapes(model) -> list[tuple[int, ...]] | None:
    """Per-sample input shapes (the first dimension is the batch), None when one is symbolic."""
    initialisers = {t.name for t in model.graph.initializer}
    shapes = []
    for value in model.graph.input:
        if value.name in initialisers:
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) < 1 or any(not d.HasField("dim_value") for d in dims[1:]):
            return None
        shapes.append(tuple(int(d.dim_value) for d in dims[1:]))
    return shapes


def missing_converters(model) -> list[str]:
    """"OpType (opset N)" of every operator onnx2torch cannot convert, in first-seen order."""
    from onnx import defs
    from onnx2torch.node_converters.registry import OperationDescription, _CONVERTER_REGISTRY

    opsets = {o.domain or "": o.version for o in model.opset_import}
    missing: list[str] = []
    for node in _all_nodes(model.graph):
        domain = "" if node.domain == "ai.onnx" else node.domain
        version = opsets.get(domain, opsets.get("ai.onnx", 0))
        try:
            version = defs.get_schema(node.op_type, domain=domain, max_inclusive_version=version).since_version
        except (RuntimeError, defs.SchemaError):
            pass
        label = f"{node.op_type} (opset {version})"
        if OperationDescription(domain, node.op_type, version) not in _CONVERTER_REGISTRY and label not in missing:
            missing.append(label)
    return missing


def _fold_identities(model) -> None:
    """`Identity(initialiser)` (torch's exporter shares equal weights that way) becomes an
    initialiser of its own, since onnx2torch wants weights and biases as initialisers."""
    from onnx import numpy_helper

    init = {t.name: t for t in model.graph.initializer}
    outputs = {v.name for v in model.graph.output}
    for node in list(model.graph.node):
        if node.op_type == "Identity" and node.input[0] in init and node.output[0] not in outputs:
            copy = numpy_helper.from_array(numpy_helper.to_array(init[node.input[0]]), node.output[0])
            model.graph.initializer.append(copy)
            init[copy.name] = copy
            model.graph.node.remove(node)


def _older_opset(model):
    """The model converted by onnx's version converter to the newest older opset whose every
    operator onnx2torch converts (it lags the newest opsets), or None."""
    from onnx import version_converter

    current = next((o.version for o in model.opset_import if o.domain in STANDARD_DOMAINS), 0)
    for target in range(min(current - 1, OLDEST_FALLBACK + 4), OLDEST_FALLBACK - 1, -1):
        try:
            older = version_converter.convert_version(model, target)
        except Exception:  # noqa: BLE001 - the converter refuses what it cannot express
            continue
        _fold_identities(older)
        if not missing_converters(older):
            return older
    return None


def _check_sizes(model, shapes, path: Path) -> None:
    """Refuse a model any of whose statically known values is too large to hold."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - shapes we cannot infer are checked while running
        return
    for value in [*inferred.graph.value_info, *inferred.graph.output]:
        dims = value.type.tensor_type.shape.dim
        known = [d.dim_value for d in dims if d.HasField("dim_value")]
        if known and int(np.prod(known, dtype=np.float64)) > MAX_ELEMENTS:
            raise ImportFailure(f"{path}: value {value.name!r} would hold {int(np.prod(known, dtype=np.float64))} "
                                f"elements (at most {MAX_ELEMENTS})")


def import_onnx(path: Path, input_shapes=None, name: str | None = None, seed: int = 0):
    """The ONNX file at `path` as an ImportResult (see importer.py), verified against
    onnxruntime. Raises ImportFailure."""
    from onnx2torch import convert

    from workbench.core.importer import import_model

    path = Path(path)
    model = load_onnx(path)
    _fold_identities(model)
    missing = missing_converters(model)
    if missing:
        model = _older_opset(model)
        if model is None:
            raise ImportFailure(f"{path}: onnx2torch cannot convert {len(missing)} operator(s): {', '.join(missing)}")
    shapes = [tuple(s) for s in input_shapes] if input_shapes else onnx_input_shapes(model)
    if shapes is None:
        raise ImportFailure(f"{path}: an input has a symbolic size besides the batch; give --input-shape")
    _check_sizes(model, shapes, path)
    try:
        gm = convert(model)
    except Exception as exc:  # noqa: BLE001 - onnx2torch fails in many ways on what it cannot map
        raise ImportFailure(f"{path}: onnx2torch cannot convert it: {type(exc).__name__}: {_first(exc)}") from None
    from workbench.core.onnx_lowering import lower_onnx_module

    gm = lower_onnx_module(gm, shapes)
    stem = re.sub(r"\W+", "_", path.stem).strip("_") or "imported"
    result = import_model(str(path.name), shapes, name=name or stem, seed=seed, model=gm)
    result.project.extra["imported"].update(source=path.name, format="onnx")
    return OnnxImport(result, verify_onnx(result, path, shapes, seed), initialiser_count(model))


@dataclass
class OnnxImport:
    result: object  # importer.ImportResult
    max_diff: float | None  # the imported graph (torch) against the file (onnxruntime)
    file_params: int  # elements of the file's float initialisers

    @property
    def params(self) -> int:
        return sum(v.numel() for v in self.result.state_dict.values() if v.is_floating_point())

    @property
    def ok(self) -> bool:
        return self.result.ok and self.max_diff is not None and self.max_diff <= TOLERANCE

    def text(self) -> str:
        lines = [self.result.text(), f"parameters: {self.params:,} (the file's initialisers: {self.file_params:,})"]
        if self.max_diff is not None:
            verdict = "matches" if self.max_diff <= TOLERANCE else "DIFFERS from"
            lines.append(f"verified: the imported graph {verdict} the file in onnxruntime "
                         f"(max abs diff {self.max_diff:.2e}, random inputs, batches 2 and 3)")
        return "\n".join(lines)


def initialiser_count(model) -> int:
    """Elements of the model's floating-point initialisers (its weights)."""
    from onnx import TensorProto

    floats = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
    return sum(int(np.prod(t.dims, dtype=np.int64)) for t in model.graph.initializer if t.data_type in floats)


def verify_onnx(result, path: Path, shapes, seed: int = 0) -> float | None:
    """Max abs difference between the imported graph (torch) and the file (onnxruntime) on
    random inputs at two batch sizes; None when either cannot run (the result's problems say why)."""
    import onnxruntime as ort
    import torch

    from workbench.core.compile import CompileError, compile_graph
    from workbench.core.shapes import infer_shapes

    if result.problems:
        return None
    graph = result.project.graph
    try:
        compiled = compile_graph(graph, result.project.name, infer_shapes(graph))
        compiled.load_state_dict(result.state_dict, strict=True)
    except (CompileError, RuntimeError) as exc:
        result.problems.append(f"cannot compile the imported graph: {_first(exc)}")
        return None
    compiled.eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = [i for i in session.get_inputs()]
    names = [n.id for n in graph if n.type == "Input"]
    generator = torch.Generator().manual_seed(seed + 7)
    worst = 0.0
    for batch in (2, 3):
        tensors = [torch.randn((batch, *shape), generator=generator) for shape in shapes]
        try:
            expected = session.run(None, {f.name: t.numpy() for f, t in zip(feeds, tensors)})
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors
            result.problems.append(f"onnxruntime cannot run the file at batch {batch}: {_first(exc)}")
            return None
        with torch.no_grad():
            got = compiled(**dict(zip(names, tensors)))
        got = [got] if isinstance(got, torch.Tensor) else list(got)
        if len(got) != len(expected) or any(tuple(g.shape) != e.shape for g, e in zip(got, expected)):
            result.problems.append("the imported graph's outputs differ in shape from the file's")
            return None
        worst = max([worst, *(float(np.abs(g.double().numpy() - e.astype(np.float64)).max()) for g, e in zip(got, expected))])
    return worst


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
