"""The `workbench` command line: summary, validate, code, and how it treats mistakes.

Exit status: 0 success, 1 the graph has errors (diagnostics name the node), 2 a user
mistake (exactly one `error:` line on stderr, never a traceback). Most checks call
`workbench.cli.main` in-process; a few start real processes, all at once and in the
background while the rest run, to keep the suite fast.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.paths import EXAMPLES, ROOT, examples

DIGITS = EXAMPLES / "digits_cnn.wbproj"
CIFAR = EXAMPLES / "cifar_resnet_block.wbproj"
TRANSFORMER = EXAMPLES / "transformer_text_classifier.wbproj"
TRANSFER = EXAMPLES / "transfer_resnet18.wbproj"
# every example but the ImageNet ResNet-18, whose weights are not cached here
LOCAL_EXAMPLES = [p for p in examples() if p != TRANSFER]
SUBPROCESS_TIMEOUT = 120


def run(argv, capsys) -> tuple[int, str, str]:
    """main(argv) in-process: (exit status, stdout, stderr). argparse exits via SystemExit."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, out: str, err: str) -> str:
    """Exit 2, nothing on stdout, exactly one `error:` line on stderr; returns that line."""
    assert "Traceback" not in out + err
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def digits_doc() -> dict:
    return json.loads(DIGITS.read_text(encoding="utf-8"))


def write_doc(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def mutated(edit) -> dict:
    doc = copy.deepcopy(digits_doc())
    edit(doc)
    return doc


def bad_project(tmp_path: Path) -> Path:
    """Conv2d straight into an LSTM: shape inference reports an error on `fc`."""
    doc = {
        "format": "model-workbench-project",
        "version": 1,
        "name": "bad",
        "graph": {
            "nodes": [
                {"id": "image", "type": "Input", "params": {"shape": [1, 8, 8]}, "pos": [0, 0]},
                {"id": "conv1", "type": "Conv2d", "params": {"out_channels": 4}, "pos": [0, 120]},
                {"id": "fc", "type": "LSTM", "params": {"hidden_size": 10}, "pos": [0, 240]},
                {"id": "out", "type": "Output", "params": {}, "pos": [0, 360]},
            ],
            "edges": [
                {"source": "image", "target": "conv1"},
                {"source": "conv1", "target": "fc"},
                {"source": "fc", "target": "out"},
            ],
        },
    }
    return write_doc(tmp_path / "bad.wbproj", doc)


# ---- summary ----------------------------------------------------------------------------------------


def test_summary_table(capsys):
    code, out, err = run(["summary", DIGITS], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "digits-cnn"
    header = lines[1].split()
    assert header[:2] == ["node", "type"] and "output shape" in lines[1]
    assert header[4:9] == ["params", "MACs", "FLOPs", "FLOPs", "by"] and "act mem fp32" in lines[1]
    rows = {line.split()[0]: line for line in lines[3:14]}
    for node_id in ("image", "conv1", "bn1", "relu1", "pool1", "conv2", "relu2", "gap", "fc", "out"):
        assert node_id in rows, node_id
    assert "[N, 16, 8, 8]" in rows["conv1"] and "160" in rows["conv1"]
    assert "[N, 10]" in rows["fc"] and "330" in rows["fc"]
    assert "total params: 5,162 (5,162 trainable)" in out
    assert "total FLOPs per sample: 166,528" in out


@pytest.mark.parametrize("path", LOCAL_EXAMPLES, ids=[p.stem for p in LOCAL_EXAMPLES])
def test_summary_json_schema(path, capsys):
    code, out, err = run(["summary", path, "--json"], capsys)
    assert code == 0 and err == ""
    assert len(out.splitlines()) == 1
    report = json.loads(out)
    assert {"nodes", "total_params", "total_flops"} <= set(report)
    assert type(report["total_params"]) is int and report["total_params"] > 0
    assert report["total_flops"] is None or type(report["total_flops"]) is int
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(n["id"] for n in report["nodes"]) == sorted(n["id"] for n in doc["graph"]["nodes"])
    for node in report["nodes"]:
        assert set(node) == {"id", "type", "shape", "output_shapes", "params", "macs", "flops", "flops_source",
                             "parameter_bytes", "activation_bytes"}
        assert node["flops_source"] in ("formula", "counted") and node["macs"] * 2 == node["flops"]
        assert isinstance(node["id"], str) and isinstance(node["type"], str)
        assert type(node["params"]) is int and (node["flops"] is None or type(node["flops"]) is int)
        if node["type"] != "Output":  # lists of ints, the batch dimension null
            assert node["shape"] == node["output_shapes"][0]
            assert node["shape"][0] is None and all(type(d) is int for d in node["shape"][1:])
        else:
            assert node["shape"] is None and node["output_shapes"] == []
    assert report["total_params"] == sum(n["params"] for n in report["nodes"])
    assert report["total_flops"] == sum(n["flops"] for n in report["nodes"]) == 2 * report["total_macs"]


def test_summary_of_a_graph_with_errors_prints_diagnostics(tmp_path, capsys):
    code, out, err = run(["summary", bad_project(tmp_path), "--json"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("fc: error: LSTM expects [N, T, F]") and "Flatten" in err
    assert "Traceback" not in err


# ---- validate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LOCAL_EXAMPLES, ids=[p.stem for p in LOCAL_EXAMPLES])
def test_validate_examples(path, capsys):
    code, out, err = run(["validate", path], capsys)
    assert code == 0 and err == ""
    name = json.loads(path.read_text(encoding="utf-8"))["name"]
    assert out == f"{name}: no errors (0 warning(s))\n"


def test_validate_names_the_node_with_the_error(tmp_path, capsys):
    code, out, err = run(["validate", bad_project(tmp_path)], capsys)
    assert code == 1
    assert "Traceback" not in out + err
    assert out.splitlines() == [
        "fc: error: LSTM expects [N, T, F] but gets [N, 4, 6, 6]: insert Flatten (start_dim=2) then Transpose (1, 2) "
        "to turn [N, C, H, W] into [N, H·W, C]"
    ]


def test_validate_prints_warnings_but_succeeds(tmp_path, capsys):
    def add_spare(d):  # a ReLU hanging off the input that leads nowhere
        d["graph"]["nodes"].append({"id": "spare", "type": "ReLU", "params": {}, "pos": [240, 120]})
        d["graph"]["edges"].append({"source": "image", "target": "spare"})

    doc = mutated(add_spare)
    code, out, err = run(["validate", write_doc(tmp_path / "warn.wbproj", doc)], capsys)
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "spare: warning: does not lead to any Output, so it is not part of the model",
        "digits-cnn: no errors (1 warning(s))",
    ]


def test_validate_transfer_example_without_cached_weights(capsys, tmp_path):
    code, out, err = run(["validate", TRANSFER], capsys)  # it starts from weights "none": nothing to find
    assert code == 0 and err == "" and out == "transfer-resnet18: no errors (0 warning(s))\n"
    doc = json.loads(TRANSFER.read_text())
    for node in doc["graph"]["nodes"]:
        if node["type"] == "resnet18":
            node["params"]["weights"] = "imagenet"
    code, out, err = run(["validate", write_doc(tmp_path / "imagenet.wbproj", doc)], capsys)
    assert code == 1 and err == ""
    assert out.startswith("backbone: error: imagenet weights for resnet18 are not in the local torch cache (")
    assert os.path.join(os.environ["TORCH_HOME"], "hub", "checkpoints", "resnet18-") in out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda p: p.update(out_channels="16"), "must be a whole number, got '16'"),
        (lambda p: p.update(out_channels=True), "must be a whole number, got True"),
        (lambda p: p.update(kernel_size=[3, 3, 3]), "needs 2 values, got 3"),
        (lambda p: p.update(padding="full"), "must be one of 'same', 'valid', got 'full'"),
    ],
    ids=["str-for-int", "bool-for-int", "three-kernel-sizes", "bad-padding-word"],
)
def test_wrong_param_value_is_a_diagnostic_on_the_node(edit, message, tmp_path, capsys):
    """A well-formed file whose layer params are wrong loads; the graph then has an error
    (exit 1, as DESIGN §2 lists an invalid parameter among the diagnostics)."""
    path = write_doc(tmp_path / "p.wbproj", mutated(lambda d: edit(d["graph"]["nodes"][1]["params"])))
    for command in (["validate"], ["summary"], ["code"]):
        code, out, err = run([command[0], path], capsys)
        assert code == 1, command
        assert "Traceback" not in out + err
        assert "conv1: error: " in out + err and message in out + err


def test_wrong_param_diagnostic_names_the_parameter(tmp_path, capsys):
    path = write_doc(tmp_path / "p.wbproj", mutated(lambda d: d["graph"]["nodes"][1]["params"].update(filters=16)))
    code, out, err = run(["validate", path], capsys)
    assert code == 1
    assert "filters" in out


# ---- code -------------------------------------------------------------------------------------------


def test_code_to_stdout(capsys):
    code, out, err = run(["code", DIGITS], capsys)
    assert code == 0 and err == ""
    assert "class DigitsCnn(nn.Module):" in out
    assert "def forward(self, image):" in out
    assert "workbench" not in out.replace("Model Workbench", "")
    compile(out, "digits_cnn.py", "exec")


def test_code_to_file(tmp_path, capsys):
    target = tmp_path / "model.py"
    code, out, err = run(["code", DIGITS, "-o", target], capsys)
    assert code == 0 and err == ""
    assert out == f"wrote {target}\n"
    source = target.read_text(encoding="utf-8")
    assert run(["code", DIGITS], capsys)[1] == source
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]  # no temp file left behind


def test_code_of_a_graph_with_errors(tmp_path, capsys):
    target = tmp_path / "model.py"
    code, out, err = run(["code", bad_project(tmp_path), "-o", target], capsys)
    assert code == 1 and out == ""
    assert err.startswith("fc: error: LSTM expects")
    assert not target.exists()


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_code_to_an_unwritable_place(where, tmp_path, capsys):
    target = tmp_path if where == "folder" else tmp_path / "nowhere" / "model.py"
    line = assert_user_error(*run(["code", DIGITS, "-o", target], capsys))
    assert f"cannot write {target}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---- user mistakes: exit 2, one error line ---------------------------------------------------------------


def _text(text: str):
    return lambda folder: _write(folder / "p.wbproj", text.encode("utf-8"))


def _bytes(payload: bytes):
    return lambda folder: _write(folder / "p.wbproj", payload)


def _doc(edit):
    return lambda folder: write_doc(folder / "p.wbproj", mutated(edit))


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def _add_edge(edge):
    return lambda d: d["graph"]["edges"].append(edge)


def _node(i, **changes):
    return lambda d: d["graph"]["nodes"][i].update(changes)


MISTAKES = {
    "missing-file": (lambda folder: folder / "absent.wbproj", ["absent.wbproj: no such file"]),
    "a-directory": (lambda folder: folder, ["is a folder, not a project file"]),
    "invalid-json": (_text('{\n  "format": "model-workbench-project",\n  "version": 1,,\n}\n'), ["line 3, column 16", "invalid JSON"]),
    "truncated-json": (_text('{"format": "model-workbench-project", "version": 1, "graph": {'), ["line 1, column", "invalid JSON"]),
    "not-utf8": (_bytes(b'\xff\xfe{"format": 1}'), ["not UTF-8"]),
    "not-an-object": (_text("[1, 2, 3]"), ["must be an object"]),
    "wrong-format": (_doc(lambda d: d.update(format="keras-model")), ["not a Model Workbench project", "'keras-model'"]),
    "newer-version": (_doc(lambda d: d.update(version=2)), ["newer Model Workbench", "version 2", "reads up to 1"]),
    "version-as-text": (_doc(lambda d: d.update(version="1")), ["version: must be a whole number"]),
    "empty-layer-type": (_doc(_node(1, type="")), ["graph.nodes[1]", "a layer type must be a name"]),
    "dangling-edge-target": (_doc(_add_edge({"source": "fc", "target": "ghost"})), ["graph.edges[9]", "'ghost'"]),
    "dangling-edge-source": (_doc(_add_edge({"source": "ghost", "target": "out"})), ["graph.edges[9]", "'ghost'"]),
    "edge-port-out-of-range": (_doc(lambda d: d["graph"]["edges"][0].update(target_port=3)), ["graph.edges[0]", "no input port 3"]),
    "edge-port-as-text": (_doc(lambda d: d["graph"]["edges"][0].update(target_port="0")), ["graph.edges[0].target_port"]),
    "params-not-an-object": (_doc(_node(1, params=[16, 3])), ["graph.nodes[1].params: must be an object"]),
    "params-null": (_doc(_node(1, params=None)), ["graph.nodes[1].params: must be an object, got null"]),
    "id-not-text": (_doc(_node(1, id=5)), ["graph.nodes[1].id: must be text"]),
    "id-not-identifier": (_doc(_node(1, id="conv-1")), ["graph.nodes[1]", "'conv-1'"]),
    "id-reserved": (_doc(_node(1, id="forward")), ["graph.nodes[1]", "'forward'", "reserved"]),
    "duplicate-id": (_doc(_node(2, id="conv1")), ["graph.nodes[2]", "'conv1' already exists"]),
    "pos-not-numbers": (_doc(_node(1, pos="0,120")), ["graph.nodes[1].pos: must be two numbers"]),
    "graph-not-an-object": (_doc(lambda d: d.update(graph=[])), ["graph: must be an object"]),
    "training-not-an-object": (_doc(lambda d: d.update(training="fast")), ["training: must be an object"]),
}
COMMANDS = {
    "validate": ["validate"],
    "summary": ["summary"],
    "summary-json": ["summary", "--json"],
    "code": ["code"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_user_mistake_is_one_error_line(mistake, command, tmp_path, capsys):
    make, expected = MISTAKES[mistake]
    folder = tmp_path / "in"
    folder.mkdir()
    path = make(folder)
    verb, *options = COMMANDS[command]
    line = assert_user_error(*run([verb, path, *options], capsys))
    assert str(path) in line  # says which file
    for part in expected:
        assert part in line, (part, line)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_missing_layer_type_opens_and_is_a_diagnostic(command, tmp_path, capsys):
    """A layer type no installed plugin provides is not a user mistake: the project opens
    and the node is reported like any other graph error (exit 1)."""
    path = write_doc(tmp_path / "p.wbproj", mutated(_node(1, type="Conv9d")))
    verb, *options = COMMANDS[command]
    code, out, err = run([verb, path, *options], capsys)
    assert code == 1 and "Traceback" not in out + err
    assert "conv1: error: missing layer type 'Conv9d' (no installed plugin provides it)" in out + err


def test_user_mistake_with_output_file_writes_nothing(tmp_path, capsys):
    project = write_doc(tmp_path / "p.wbproj", mutated(lambda d: d.update(version=2)))
    target = tmp_path / "model.py"
    assert_user_error(*run(["code", project, "-o", target], capsys))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.wbproj"]


def test_deeply_nested_json_is_a_user_error(tmp_path, capsys):
    path = _write(tmp_path / "deep.wbproj", b"[" * 100_000 + b"]" * 100_000)
    line = assert_user_error(*run(["validate", path], capsys))
    assert str(path) in line


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", DIGITS, "--bogus"],
        ["validate", DIGITS, "--json"],
        ["code", DIGITS, "-o"],
        ["summary"],
        ["validate", DIGITS, DIGITS],
        ["--frobnicate"],
    ],
    ids=["unknown-option", "option-of-another-command", "option-without-value", "missing-file-argument", "extra-argument", "unknown-global-option"],
)
def test_bad_command_line_is_one_error_line(argv, capsys):
    line = assert_user_error(*run(argv, capsys))
    assert "--help" in line


# ---- real processes: started when this module starts, so they overlap the in-process tests ------


@pytest.fixture(scope="module", autouse=True)
def processes(tmp_path_factory):
    """Start every real-process check at once (each pays torch's import) and hand out the results."""
    folder = tmp_path_factory.mktemp("cli_processes")
    generated = folder / "transformer_model.py"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["code", str(TRANSFORMER), "-o", str(generated)]) == 0
    invalid = folder / "invalid.wbproj"
    invalid.write_text('{\n  "format": "model-workbench-project",\n  "version": 1,,\n}\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "summary_json": [sys.executable, "-m", "workbench.cli", "summary", str(CIFAR), "--json"],
        "validate_invalid": [sys.executable, "-m", "workbench.cli", "validate", str(invalid)],
        "generated": [sys.executable, str(generated)],
    }
    started = {
        name: subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, cmd in commands.items()
    }
    results: dict[str, tuple[int, str, str]] = {}

    def result(name: str) -> tuple[int, str, str]:
        if name not in results:
            proc = started[name]
            out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
            results[name] = (proc.returncode, out, err)
        return results[name]

    yield result
    for proc in started.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_subprocess_summary_json(processes):
    code, out, err = processes("summary_json")
    assert code == 0, err
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["total_params"] == 77_866
    assert [n["id"] for n in report["nodes"]][:2] == ["image", "stem_conv"]


def test_subprocess_user_error_is_one_line(processes):
    code, out, err = processes("validate_invalid")
    line = assert_user_error(code, out, err)
    assert "line 3, column 16" in line and "invalid JSON" in line


def test_generated_file_runs_with_plain_python(processes):
    code, out, err = processes("generated")
    assert code == 0, err
    assert out.strip() == "torch.Size([2, 2])"
