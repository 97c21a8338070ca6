"""Every bad input is a clean error: huge numbers, deep nesting, endless or blocking files,
unwritable or missing output folders, unknown commands and blocks that use themselves.

On the command line each is one `error:` line and exit 2 (or, for a graph problem, a
diagnostic and exit 1), never a traceback, a hang or a MemoryError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workbench.cli import COMMANDS
from workbench.core import jsonfile
from workbench.core.codegen import codegen
from workbench.core.compile import CompileError, compile_graph
from workbench.core.graph import Graph, GraphError
from workbench.core.jsonfile import JsonFileError, load_json, parse_json, read_regular
from tests.test_cli import run  # main in-process: (status, stdout, stderr)
from workbench.core.params import FLOAT, INT, Param, ParamError
from workbench.core.project import ProjectError, load_project, project_from_dict
from workbench.core.shapes import infer_shapes
from workbench.paths import EXAMPLES


DIGITS = EXAMPLES / "digits_cnn.wbproj"
HUGE = 10**400
TIMEOUT = 120  # the CLI imports torch; a regression that blocks fails here instead of hanging


def one_error(code: int, out: str, err: str) -> str:
    assert "Traceback" not in out + err
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def digits() -> dict:
    return json.loads(DIGITS.read_text(encoding="utf-8"))


def write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return path


# -- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where, set_value",
    [
        ("graph.nodes[0].pos[0]", lambda d: d["graph"]["nodes"][0].__setitem__("pos", [HUGE, 0])),
        ("graph.nodes[1].params.padding", lambda d: d["graph"]["nodes"][1]["params"].__setitem__("padding", HUGE)),
        ("training.optimizer.lr", lambda d: d["training"]["optimizer"].__setitem__("lr", -HUGE)),
        ("extra", lambda d: d.__setitem__("extra", [HUGE])),
    ],
)
def test_a_number_beyond_float_or_int64_is_a_project_error(tmp_path, capsys, where, set_value):
    doc = digits()
    set_value(doc)
    path = write(tmp_path / "p.wbproj", doc)
    with pytest.raises(ProjectError, match=r"401-digit number is too large"):
        load_project(path)
    with pytest.raises(ProjectError, match="too large"):
        project_from_dict(doc)  # a document built in memory gets the same bounds
    line = one_error(*run(["validate", path], capsys))
    assert where.split("[")[0] in line and "401-digit" in line


@pytest.mark.parametrize("text", ["1e400", "-1e999", "NaN", "Infinity"])
def test_infinite_and_nan_numbers_are_refused(tmp_path, text):
    raw = DIGITS.read_text(encoding="utf-8").replace('"seed": 0', f'"seed": {text}')
    assert text in raw
    with pytest.raises(ProjectError, match="finite|not a number JSON allows"):
        load_project(write(tmp_path / "p.wbproj", raw))


def test_huge_values_through_the_api_are_messages_not_overflow():
    with pytest.raises(ParamError, match="finite"):
        Param("p", FLOAT, 0.5, max=1).validate(HUGE)
    with pytest.raises(ParamError, match=r"^k: must be"):
        Param("k", INT, 1, max=10).validate(HUGE)
    with pytest.raises(GraphError, match="position"):
        Graph().add_node("x", "Input", {"shape": [4]}, (HUGE, 0))


def test_a_lone_surrogate_escape_is_refused_with_where():
    with pytest.raises(JsonFileError, match=r"name: text holds an unpaired surrogate"):
        parse_json('{"name": "\\ud800"}')
    assert parse_json('{"name": "\\ud83d\\ude80"}') == {"name": "🚀"}


# -- nesting ---------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_is_bounded_at_100_levels_before_anything_recursive_runs(tmp_path, capsys):
    raw = DIGITS.read_text(encoding="utf-8")
    body = raw.rstrip().rstrip("}")
    ok = write(tmp_path / "ok.wbproj", body + f', "extra": {nested(99)}}}')  # 100 levels with the document
    assert load_project(ok).extra["extra"] == json.loads(nested(99))
    for depth in (100, 500, 100_000):
        path = write(tmp_path / f"deep{depth}.wbproj", body + f', "extra": {nested(depth)}}}')
        with pytest.raises(ProjectError, match="nested more than 100 levels deep"):
            load_project(path)
    line = one_error(*run(["validate", path], capsys))
    assert len(line) < 300
    deep = json.loads(nested(500))
    with pytest.raises(ProjectError, match="nested more than 100 levels deep"):
        project_from_dict({**digits(), "extra": deep})


def test_the_message_names_where_the_nesting_goes_too_deep():
    with pytest.raises(JsonFileError, match=r"^a\.b\[0\]: nested more than 3 levels deep$"):
        parse_json('{"a": {"b": [[[[1]]]]}}', max_depth=3)


# -- files that are not files ------------------------------------------------------------


def test_devices_folders_and_sizes_are_refused_before_reading(tmp_path):
    with pytest.raises(ProjectError, match="is a character device, not a regular file"):
        load_project("/dev/zero")
    with pytest.raises(ProjectError, match="is a folder, not a project file"):
        load_project(tmp_path)
    sparse = tmp_path / "huge.wbproj"
    with open(sparse, "wb") as handle:
        handle.truncate(jsonfile.MAX_BYTES + 1)  # sparse: nothing is written or read
    with pytest.raises(ProjectError, match=f"is {jsonfile.MAX_BYTES + 1:,} bytes, larger than the 256 MB limit"):
        load_project(sparse)
    small = write(tmp_path / "small.json", "[1, 2, 3]")
    with pytest.raises(JsonFileError, match="larger than the 4 bytes limit"):
        read_regular(small, limit=4)
    assert load_json(small) == [1, 2, 3]


def test_a_fifo_is_refused_by_the_cli_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.wbproj"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "validate", str(fifo)],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: {fifo}: is a FIFO (named pipe), not a regular file"


def test_a_fifo_swapped_in_after_the_check_does_not_block_the_open(tmp_path, monkeypatch):
    """The stat says "regular file" (the file was swapped after it): the open must not wait for a writer."""
    fifo = tmp_path / "pipe.wbproj"
    os.mkfifo(fifo)
    regular, real_stat = os.stat(DIGITS), os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: regular if str(path) == str(fifo) else real_stat(path, *a, **k))
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, read_regular, fifo), daemon=True)
    reader.start()
    reader.join(20)
    if reader.is_alive():  # blocked in open(): release it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail("opening a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], JsonFileError)
    assert "is a FIFO (named pipe), not a regular file" in str(outcome[0])


def _capture(outcome: list, fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        outcome.append(exc)


# -- outputs -----------------------------------------------------------------------------


def litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".export-"))


@pytest.mark.parametrize("command", [["code"], ["export", "--format", "state_dict"], ["export", "--format", "python"]])
def test_output_under_a_file_or_in_a_missing_folder_is_one_error(tmp_path, capsys, command):
    a_file = write(tmp_path / "file.txt", "not a folder")
    suffix = ".pt" if "state_dict" in command else ".py"
    for target, reason in (
        (a_file / f"out{suffix}", f"{a_file} is a file, not a folder"),
        (tmp_path / "missing" / f"out{suffix}", f"the folder {tmp_path / 'missing'} does not exist"),
    ):
        line = one_error(*run([command[0], DIGITS, *command[1:], "-o", target], capsys))
        assert str(target) in line and reason in line
    assert not (tmp_path / "missing").exists()
    assert litter(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes through file permissions")
def test_a_read_only_folder_is_one_error(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        line = one_error(*run(["export", DIGITS, "--format", "state_dict", "-o", folder / "w.pt"], capsys))
        assert str(folder) in line and "ermission denied" in line
        line = one_error(*run(["code", DIGITS, "-o", folder / "m.py"], capsys))
        assert "ermission denied" in line
    finally:
        folder.chmod(0o700)
    assert litter(tmp_path) == []


# -- commands ----------------------------------------------------------------------------


def test_an_unknown_command_lists_the_commands(capsys):
    line = one_error(*run(["frobnicate"], capsys))
    assert line == f"error: unknown command 'frobnicate'; commands: {', '.join(COMMANDS)}"


def test_a_project_path_still_opens_the_editor(tmp_path, capsys):
    """`workbench PROJECT` is the editor's shortcut: a missing project is reported by it, not as a command."""
    line = one_error(*run([tmp_path / "nope.wbproj"], capsys))
    assert line == f"error: {tmp_path / 'nope.wbproj'}: no such file"


def test_the_last_guard_turns_stack_and_memory_errors_into_one_line(capsys, monkeypatch):
    for error in (RecursionError, OverflowError, MemoryError):

        def explode(args, error=error):
            raise error("deep in a user file")

        monkeypatch.setitem(COMMANDS, "plugins", (explode, "test"))
        line = one_error(*run(["plugins"], capsys))
        assert error.__name__ in line


# -- blocks that use themselves -------------------------------------------------------------


def block(name: str, uses: str | None) -> dict:
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [4]}}, {"id": "y", "type": "Output", "params": {}}]
    edges = [{"source": "x", "target": "y"}]
    if uses is not None:
        nodes.insert(1, {"id": "inner", "type": "Block", "params": {"block": uses}})
        edges = [{"source": "x", "target": "inner"}, {"source": "inner", "target": "y"}]
    return {"name": name, "graph": {"nodes": nodes, "edges": edges}}


def project_using(first: str, blocks: list[dict]) -> dict:
    return {
        "format": "model-workbench-project",
        "version": 1,
        "name": "recursive",
        "graph": {
            "nodes": [
                {"id": "x", "type": "Input", "params": {"shape": [4]}},
                {"id": "use", "type": "Block", "params": {"block": first}},
                {"id": "o", "type": "Output", "params": {}},
            ],
            "edges": [{"source": "x", "target": "use"}, {"source": "use", "target": "o"}],
        },
        "blocks": blocks,
    }


@pytest.mark.parametrize(
    "blocks, message",
    [
        ([block("a", "a")], "block 'a' uses itself: a -> a"),
        ([block("a", "b"), block("b", "a")], "block 'a' uses itself: a -> b -> a"),
        ([block("a", "b"), block("b", "c"), block("c", "a")], "block 'a' uses itself: a -> b -> c -> a"),
    ],
)
def test_a_block_that_uses_itself_is_one_short_diagnostic(tmp_path, capsys, blocks, message):
    project = project_from_dict(project_using("a", blocks))
    result = infer_shapes(project.graph)
    assert [(d.node_id, d.message) for d in result.errors] == [("use", message)]
    with pytest.raises(CompileError, match="uses itself"):
        codegen(project.graph, project.name)
    with pytest.raises(CompileError, match="uses itself"):
        compile_graph(project.graph)
    code, out, err = run(["validate", write(tmp_path / "r.wbproj", project_using("a", blocks))], capsys)
    assert code == 1 and "Traceback" not in out + err
    assert out.strip() == f"use: error: {message}"


def test_a_cycle_further_down_is_named_where_it_is():
    blocks = [block("a", "b"), block("b", "c"), block("c", "b")]
    errors = infer_shapes(project_from_dict(project_using("a", blocks)).graph).errors
    assert len(errors) == 1 and errors[0].message.endswith("block 'b' uses itself: b -> c -> b")
    assert len(errors[0].message) < 200


def test_blocks_nested_500_deep_are_refused_without_recursion_error(tmp_path, capsys):
    blocks = [block(f"b{i}", f"b{i + 1}" if i < 499 else None) for i in range(500)]
    path = write(tmp_path / "chain.wbproj", project_using("b0", blocks))
    errors = infer_shapes(load_project(path).graph).errors
    assert len(errors) == 1 and "blocks nest more than 20 levels deep" in errors[0].message
    code, out, err = run(["validate", path], capsys)
    assert code == 1 and "Traceback" not in out + err and "nest more than 20" in out
    shallow = [block(f"b{i}", f"b{i + 1}" if i < 9 else None) for i in range(10)]
    assert infer_shapes(project_from_dict(project_using("b0", shallow)).graph).errors == []
