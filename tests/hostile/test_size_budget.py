"""Hostile sizes: a project file may ask for a 4 TB Linear, a 2**63 input, 10^11 samples or
a 50 MB string. Validate and summary must say so (warnings, diagnostics), train and export
must refuse with one `error:` line naming the figure and the node, and nothing may try the
allocation or print a traceback."""

from __future__ import annotations

import json
import resource
import time

import pytest

from workbench.cli import main
from workbench.core.compile import CompileError, compile_graph
from workbench.core.graph import Graph
from workbench.core.project import project_from_dict
from workbench.core.shapes import infer_shapes
from workbench.core.summary import summarize
from workbench.data import DataError, load_data
from workbench.core.tensors import TensorInfo

MOONS = {"source": "synthetic", "params": {"kind": "moons", "n": 200}, "val_fraction": 0.2, "augment": []}


def project(layers: list[dict], shape, dtype="float32", data=None, optimizer=None) -> dict:
    nodes = [{"id": "input", "type": "Input", "params": {"shape": shape, "dtype": dtype}}, *layers,
             {"id": "out", "type": "Output", "params": {}}]
    return {
        "format": "model-workbench-project",
        "version": 1,
        "name": "hostile",
        "graph": {"nodes": [dict(n, pos=[0, 0]) for n in nodes],
                  "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]},
        "data": data or MOONS,
        "training": {"epochs": 1, "batch_size": 8, "optimizer": optimizer or {"type": "Adam", "lr": 0.001},
                     "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0},
    }


# (layers, input shape, input dtype, the node holding the weights, its fp32 size as printed)
HUGE = {
    "linear": ([{"id": "fc", "type": "Linear", "params": {"out_features": 1_000_000}}], [1_000_000], "float32", "fc",
               "4.0 TB"),
    "conv2d": ([{"id": "conv", "type": "Conv2d", "params": {"out_channels": 65536, "kernel_size": 7}}], [65536, 8, 8],
               "float32", "conv", "841.8 GB"),
    "embedding": ([{"id": "emb", "type": "Embedding", "params": {"num_embeddings": 100_000_000, "embedding_dim": 65536}}],
                  [16], "int64", "emb", "26.2 TB"),
    "lstm": ([{"id": "rnn", "type": "LSTM", "params": {"hidden_size": 65536, "num_layers": 4}}], [8, 65536], "float32",
             "rnn", "549.8 GB"),
}


@pytest.fixture(params=sorted(HUGE))
def huge(request, tmp_path):
    layers, shape, dtype, node, size = HUGE[request.param]
    path = tmp_path / f"{request.param}.wbproj"
    path.write_text(json.dumps(project(layers, shape, dtype)))
    return path, node, size


def _run(argv, capsys):
    """(exit status, stdout, stderr, seconds, growth of the peak RSS in bytes) of one CLI call."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) * 1024  # KiB on Linux
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err, seconds, grown


def test_validate_and_summary_warn_on_the_heaviest_node(huge, capsys):
    path, node, size = huge
    code, out, _, seconds, grown = _run(["validate", str(path)], capsys)
    assert code == 0, out
    warning = [line for line in out.splitlines() if line.startswith(f"{node}: warning: parameters need {size} (fp32)")]
    assert warning and "RAM available" in warning[0], out
    code, out, _, seconds, grown = _run(["summary", str(path)], capsys)
    assert code == 0
    assert f"parameter memory: {size} (fp32)" in out and f"{node}: warning: parameters need {size}" in out
    assert seconds < 10 and grown < 2**30


def test_summary_json_reports_parameter_and_activation_bytes(huge, capsys):
    path, node, _ = huge
    code, out, err, _, _ = _run(["summary", str(path), "--json"], capsys)
    memory = json.loads(out)["memory"]
    assert code == 0 and f"{node}: warning" in err
    assert memory["nodes"][node]["parameter_bytes"] == memory["parameter_bytes_fp32"] >= 4 * 10**11
    assert memory["parameter_bytes_half"] * 2 == memory["parameter_bytes_fp32"]
    assert memory["largest_activation_bytes"] > 0 and memory["largest_activation_node"] in ("input", node)


@pytest.mark.parametrize("command", [["train"], ["export", "--format", "state_dict", "-o"]])
def test_train_and_export_refuse_before_allocating(huge, command, capsys, tmp_path):
    path, node, size = huge
    extra = [str(tmp_path / "out.pt")] if command[0] == "export" else ["--runs-dir", str(tmp_path / "runs")]
    code, out, err, seconds, grown = _run([command[0], str(path), *command[1:], *extra], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"error: {node}: the model does not fit: parameters"), err
    assert "RAM available" in lines[0] and (size in lines[0] or "TB" in lines[0] or "PB" in lines[0])
    assert seconds < 10 and grown < 2**30, (seconds, grown)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out.pt").exists()


def test_the_optimizer_decides_the_training_state():
    from workbench.core.size_budget import optimizer_state_copies

    layers, shape, dtype, *_ = HUGE["linear"]
    memory = summarize(project_from_dict(project(layers, shape, dtype)).graph).memory
    assert optimizer_state_copies({"type": "SGD"}) == 0 and optimizer_state_copies({"type": "SGD", "momentum": 0.9}) == 1
    assert optimizer_state_copies({"type": "Adam"}) == 2 and optimizer_state_copies("junk") == 2
    assert memory.training_bytes(2) - memory.training_bytes(0) == 2 * memory.trainable * 4
    assert memory.training_bytes(0) == memory.weight_bytes + memory.trainable * 4 == 8 * (10**12 + 10**6)


@pytest.mark.parametrize(
    "shape,layers,field",
    [
        ([2**63], [], "shape"),
        ([3, 10**400], [], "shape"),
        ([8], [{"id": "fc", "type": "Linear", "params": {"out_features": 10**400}}], "out_features"),
        ([8], [{"id": "fc", "type": "Linear", "params": {"out_features": 1e300}}], "out_features"),
        ([3, 8, 8], [{"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": [3, 2**70]}}],
         "kernel_size"),
        ([3, 8, 8], [{"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3,
                                                                  "padding": 2**40}}], "padding"),
    ],
)
def test_huge_numbers_become_diagnostics_on_their_node(shape, layers, field, capsys, tmp_path):
    doc = project(layers, shape)
    graph = Graph()  # built in memory: the project file's own 64-bit bound does not apply
    for node in doc["graph"]["nodes"]:
        graph.restore_node(node)
    for edge in doc["graph"]["edges"]:
        graph.restore_edge(edge)
    result = infer_shapes(graph)
    node = layers[0]["id"] if layers else "input"
    errors = result.for_node(node)
    assert errors and errors[0].field == field and "2147483647" in errors[0].message, result.diagnostics
    assert len(errors[0].message) < 300
    summarize(graph, result)  # rows for what is known; never raises
    with pytest.raises(CompileError) as failure:
        compile_graph(graph)
    assert failure.value.node_id == node
    path = tmp_path / "p.wbproj"
    path.write_text(json.dumps(doc))
    for command in (["validate"], ["summary"]):
        code, out, err, _, _ = _run([*command, str(path)], capsys)
        if code == 2:  # refused when the file is read (a number past 64 bits): one line that says where
            assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and field in err, err
        else:
            assert code == 1 and f"{node}: error: {field}:" in out + err


def test_element_counts_that_overflow_are_errors_on_the_node(capsys):
    doc = project([{"id": "flat", "type": "Flatten", "params": {}}], [2**30, 2**30, 2**30])
    result = infer_shapes(project_from_dict(doc).graph)
    (error,) = result.for_node("input")
    assert "more than any machine can hold" in error.message


def test_synthetic_data_refuses_a_sample_count_that_cannot_fit(tmp_path, capsys):
    data = {"source": "synthetic", "params": {"kind": "moons", "n": 1e11}, "val_fraction": 0.2, "augment": []}
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"100,000,000,000 synthetic moons samples need about [\d.,]+ TB"):
        load_data(data, {"x": TensorInfo((2,))}, 0, tmp_path)
    assert time.perf_counter() - start < 5
    path = tmp_path / "moons.wbproj"
    path.write_text(json.dumps(project([{"id": "fc", "type": "Linear", "params": {"out_features": 2}}], [2],
                                       data=data)))
    code, _, err, _, grown = _run(["train", str(path), "--runs-dir", str(tmp_path / "runs")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "lower data.params.n" in err
    assert grown < 2**30


def test_sequences_and_text_refuse_too(tmp_path):
    tokens = {"source": "synthetic", "params": {"kind": "copy", "n": 10**10}, "val_fraction": 0.2, "augment": []}
    with pytest.raises(DataError, match="synthetic copy samples need about"):
        load_data(tokens, {"source": TensorInfo((12,), "int64"), "target": TensorInfo((13,), "int64")}, 0, tmp_path)
    (tmp_path / "t.csv").write_text("text,label\n" + "hello there,a\ngood bye,b\n" * 100)
    text = {"source": "text_csv", "params": {"path": "t.csv"}, "val_fraction": 0.0, "augment": []}
    with pytest.raises(DataError, match="200 texts of 2147483647 tokens need about"):
        load_data(text, {"tokens": TensorInfo((2**31 - 1,), "int64")}, 0, tmp_path)


BIG = "x" * 50_000_000


@pytest.mark.parametrize(
    "where",
    ["choice", "unknown_param", "data_kind", "format", "layer_type"],
)
def test_a_50_mb_string_is_cut_in_the_error_line(where, tmp_path, capsys):
    layers = [{"id": "fc", "type": "Linear", "params": {"out_features": 2}}]
    doc = project(layers, [2])
    if where == "choice":
        doc["graph"]["nodes"][0]["params"]["dtype"] = BIG
    elif where == "unknown_param":
        doc["graph"]["nodes"][1]["params"][BIG] = 1
    elif where == "data_kind":
        doc["data"]["params"]["kind"] = BIG
    elif where == "format":
        doc["format"] = BIG
    else:
        doc["graph"]["nodes"][1]["type"] = BIG
    path = tmp_path / "p.wbproj"
    path.write_text(json.dumps(doc))
    commands = [["train", str(path), "--runs-dir", str(tmp_path / "runs")]]
    if where != "data_kind":  # validate does not read the data section
        commands.append(["validate", str(path)])
    for command in commands:
        code, out, err, seconds, _ = _run(command, capsys)
        assert code in (1, 2)
        assert max(len(line) for line in (out + err).splitlines()) <= 2100
        assert out + err and "x" * 2100 not in out + err
        if "xxxxxxxxxx" in out + err:  # echoed, then cut where it is shown
            assert "…" in out + err
    assert "xxxxxxxxxx…" in out + err  # validate names the value, cut


@pytest.mark.cuda
def test_training_on_cuda_compares_with_the_gpus_free_memory(huge, capsys, tmp_path):
    path, node, _ = huge
    code, _, err, seconds, _ = _run(["train", str(path), "--device", "cuda", "--runs-dir", str(tmp_path / "runs")],
                                    capsys)
    assert code == 2 and err.startswith(f"error: {node}: the model does not fit") and "cuda:0 has" in err, err
    assert "free" in err and seconds < 30


def test_a_model_that_fits_still_validates_and_exports(tmp_path, capsys):
    """The budget refuses only what cannot fit: the small moons MLP goes through."""
    path = tmp_path / "small.wbproj"
    path.write_text(json.dumps(project([{"id": "fc", "type": "Linear", "params": {"out_features": 2}}], [2])))
    code, out, _, _, _ = _run(["validate", str(path)], capsys)
    assert code == 0 and ": warning:" not in out
    code, _, err, _, _ = _run(["export", str(path), "--format", "state_dict", "-o", str(tmp_path / "m.pt")], capsys)
    assert code == 0, err


def test_describe_never_echoes_more_than_its_limit():
    from workbench.core.text import describe, shorten

    assert describe("x" * 10**6) == shorten(repr("x" * 300))  # cut before repr'ing the whole string
    assert len(describe(list(range(10**5)))) <= 200 and describe(list(range(10**5))).endswith("…")
    assert describe(10**5000).endswith("-bit number")  # past Python's int-to-text limit
    assert describe([10**5000]) == "a list" and describe(3) == "3"
