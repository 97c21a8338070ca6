"""Does the data fit the graph and the loss? One readable message per problem.

Run before training: input count/shape/dtype against the graph's Input nodes, the number
of classes (or regression width, or reconstruction shape) against the model's output, and
the kind of target against the loss. `describe_paths` says which files it all came from.
"""

from __future__ import annotations

from workbench.core.shapes import Diagnostic, InferenceResult
from workbench.core.tensors import FLOAT, INT, TensorInfo, format_shape
from workbench.data.bundle import DataBundle

CLASS_LOSSES = {"CrossEntropyLoss", "NLLLoss"}
BINARY_LOSSES = {"BCEWithLogitsLoss", "BCELoss"}
VALUE_LOSSES = {"MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"}
NOUNS = {"images": "images", "features": "features", "waveforms": "waveforms", "tokens": "token sequences"}
TARGET_WORDS = {
    "classification": "class labels",
    "sequence": "a class label per position",
    "regression": "regression targets",
    "reconstruction": "reconstruction targets (the input itself)",
}


def check_compatibility(
    bundle: DataBundle,
    graph_inputs: dict[str, TensorInfo],
    output_info: TensorInfo | None,
    loss_type: str,
) -> list[str]:
    """Messages for every mismatch; an empty list means the data fits."""
    return [d.message for d in compatibility_diagnostics(bundle, graph_inputs, output_info, loss_type)]


def compatibility_diagnostics(
    bundle: DataBundle,
    graph_inputs: dict[str, TensorInfo],
    output_info: TensorInfo | None,
    loss_type: str,
    output_id: str | None = None,
) -> list[Diagnostic]:
    """The same mismatches as errors on the nodes they concern: an input's on its Input
    node (`graph_inputs` is keyed by node id), the loss's and the classes' on the Output
    `output_id`, so the editor can show them where they are before anything trains."""
    found = [Diagnostic(node, "error", text, field) for node, text, field in _check_inputs(bundle, graph_inputs)]
    found += [Diagnostic(output_id, "error", text) for text in _check_loss(bundle, loss_type)]
    if output_info is not None:
        found += [Diagnostic(output_id, "error", text) for text in _check_output(bundle, output_info, loss_type)]
    return found


def describe_paths(bundle: DataBundle) -> list[str]:
    """Where the data was read from: one "field: absolute path" line per path the data
    section named (relative ones resolved against the project's folder)."""
    return [f"{name}: {path}" for name, path in (bundle.extra.get("paths") or {}).items()]


def _shape(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _check_inputs(bundle: DataBundle, graph_inputs: dict[str, TensorInfo]) -> list[tuple[str | None, str, str | None]]:
    """(Input node id, message, parameter) for each input problem."""
    data = list(zip(bundle.input_names, bundle.input_infos))
    graph = list(graph_inputs.items())
    if len(data) != len(graph):
        given = ", ".join(f"{name} {_shape(info.shape)}" for name, info in data)
        wanted = ", ".join(f"'{name}'" for name, _ in graph) or "none"
        return [(
            graph[0][0] if graph else None,
            f"{bundle.source} gives {_count(len(data), 'input')} ({given}) "
            f"but the graph has {_count(len(graph), 'Input node')} ({wanted})",
            None,
        )]
    if {name for name, _ in data} == {name for name, _ in graph}:
        by_name = dict(data)
        data = [(name, by_name[name]) for name, _ in graph]
    noun = NOUNS.get(bundle.modality, "inputs")
    messages = []
    for (_, got), (node, wanted) in zip(data, graph):
        if got.dtype != wanted.dtype:
            if got.dtype == INT:
                text = f"{bundle.source} gives int64 token ids but Input '{node}' is {wanted.dtype}; set its dtype to int64"
            else:
                text = f"{bundle.source} gives {got.dtype} {noun} but Input '{node}' takes {wanted.dtype} token ids; set its dtype to {FLOAT}"
            messages.append((node, text, "dtype"))
        if tuple(got.shape) != tuple(wanted.shape):
            messages.append((node, f"{bundle.source} gives {_shape(got.shape)} {noun} but Input '{node}' expects {_shape(wanted.shape)}", "shape"))
    return messages


def _check_loss(bundle: DataBundle, loss: str) -> list[str]:
    task, what = bundle.task, TARGET_WORDS.get(bundle.task, bundle.task)
    if loss in CLASS_LOSSES and task not in ("classification", "sequence"):
        return [f"{loss} needs class labels but {bundle.source} gives {what}; use MSELoss"]
    if loss in VALUE_LOSSES and task in ("classification", "sequence"):
        return [f"{loss} needs regression or reconstruction targets but {bundle.source} gives {what}; use CrossEntropyLoss"]
    if loss in BINARY_LOSSES:
        if task == "classification" and bundle.num_classes != 2:
            return [f"{loss} is for 2 classes with one output each; {bundle.source} has {bundle.num_classes} classes: use CrossEntropyLoss"]
        if task in ("sequence", "regression"):
            better = "CrossEntropyLoss" if task == "sequence" else "MSELoss"
            return [f"{loss} needs 2-class labels or targets in [0, 1] but {bundle.source} gives {what}; use {better}"]
    return []


def _check_output(bundle: DataBundle, output: TensorInfo, loss: str) -> list[str]:
    got = tuple(output.shape)
    shown = format_shape(got)
    if bundle.task == "classification":
        k = bundle.num_classes or 0
        if loss in BINARY_LOSSES and k == 2:
            if got != (1,):
                return [f"{loss} on 2 classes needs one output per sample ([N, 1]) but the model outputs {shown}"]
            return []
        if got != (k,):
            if len(got) == 1:
                return [f"{bundle.source} has {k} classes but the model outputs {got[0]} values per sample; set the last layer's out_features to {k}"]
            return [f"{bundle.source} has {k} classes, so the model should output [N, {k}], but it outputs {shown}; add Flatten or pooling before the last layer"]
    elif bundle.task == "sequence":
        k = bundle.num_classes or _vocab_size(bundle) or 0
        t = bundle.target_info.shape[0] if bundle.target_info is not None else None
        if got != (t, k):
            return [f"{bundle.source} needs {t} positions of {k} classes, so the model should output [N, {t}, {k}], but it outputs {shown}"]
    elif bundle.task == "regression":
        k = bundle.target_width
        if got != (k,):
            return [f"{bundle.source} has {_count(k or 0, 'regression target')} per sample, so the model should output [N, {k}], but it outputs {shown}"]
    elif bundle.task == "reconstruction" and bundle.input_infos:
        expected = tuple(bundle.input_infos[0].shape)
        if got != expected:
            return [f"reconstruction needs the output to match the input {format_shape(expected)} but the model outputs {shown}"]
    return []


def check_vocabulary(bundle: DataBundle, graph, result: InferenceResult) -> list[Diagnostic]:
    """Errors on the nodes whose sizes do not fit the data's vocabulary: an Embedding with
    fewer rows than there are token ids, and (next-token data) a last layer whose
    out_features is not the vocabulary size."""
    vocab = _vocab_size(bundle)
    if vocab is None:
        return []
    fix = f'set it to {vocab}, or to {{"from_data": "vocab_size"}} to follow the data'
    found = []
    for node in graph:
        params = result.resolved.get(node.id) or {}
        rows = params.get("num_embeddings") if node.type == "Embedding" else None
        if isinstance(rows, int) and rows < vocab:
            found.append(Diagnostic(node.id, "error", f"{bundle.source} has {vocab} tokens (ids 0 to {vocab - 1}) but the "
                                    f"Embedding has {rows} rows: {fix}", "num_embeddings"))
    if bundle.task == "sequence":
        for output in graph.nodes_of_type("Output"):
            for edge in graph.in_edges(output.id):
                width = (result.resolved.get(edge.source) or {}).get("out_features")
                if isinstance(width, int) and width != vocab:
                    found.append(Diagnostic(edge.source, "error", f"predicts {width} tokens but {bundle.source} has a "
                                            f"vocabulary of {vocab}: {fix}", "out_features"))
    return found


def vocabulary_problems(bundle: DataBundle, graph) -> list[str]:
    """vocabulary_diagnostics as "node: problem" lines."""
    return [f"{d.node_id}: {d.text}" for d in vocabulary_diagnostics(bundle, graph)]


def vocabulary_diagnostics(bundle: DataBundle, graph) -> list[Diagnostic]:
    """check_vocabulary on `graph` with its sizes from the data filled in by the loaded
    bundle (a graph without such sizes is checked as it is)."""
    from workbench.core.from_data import resolve_from_data
    from workbench.core.shapes import infer_shapes
    from workbench.data.facts import bundle_facts

    graph = resolve_from_data(graph, bundle_facts(bundle))
    return check_vocabulary(bundle, graph, infer_shapes(graph))


def _vocab_size(bundle: DataBundle) -> int | None:
    value = bundle.extra.get("vocab_size") if isinstance(bundle.extra, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
