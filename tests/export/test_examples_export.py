"""Every bundled example exports to every format and verifies.

The export times, exporter paths and max differences are printed as a table at the end
of the module (visible in the terminal summary) — the figures the issue asks to record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import onnx
import pytest

from workbench.export import FORMATS, export
from workbench.paths import examples

from tests.export.helpers import example, weights_cache  # noqa: F401 (fixture)

EXAMPLES = [p.stem for p in examples()]
ROWS: list[dict] = []


@pytest.fixture(scope="module", autouse=True)
def _print_table(request):
    yield
    if not ROWS:
        return
    lines = ["", "export matrix: example, format, exporter, seconds (whole export() call), max abs diff, ok"]
    for row in ROWS:
        path = row["exporter"] + (" (fallback)" if row["fallback"] else "")
        diff = "-" if row["diff"] is None else f"{row['diff']:.2e}"
        figures = f"{row['seconds']:7.2f} s {diff:>9} {row['ok']}"
        lines.append(f"  {row['example']:<28} {row['format']:<12} {path:<24} {figures}")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_exports_and_verifies(name, fmt, tmp_path, weights_cache):
    project = example(name)
    start = time.perf_counter()
    report = export(project, fmt, tmp_path)
    seconds = time.perf_counter() - start
    ROWS.append(
        {
            "example": name,
            "format": fmt,
            "exporter": report.exporter or "-",
            "fallback": report.fallback,
            "seconds": seconds,
            "diff": report.max_abs_diff,
            "ok": report.ok,
        }
    )
    assert report.ok, report.text()
    assert report.max_abs_diff is not None and report.max_abs_diff <= 1e-4
    assert report.batch_sizes == [2, 7, 1]  # one of them differs from the export example's batch of 2
    artifact = Path(report.path)
    assert artifact.is_file() and artifact.stat().st_size == report.size_bytes
    saved = json.loads(Path(report.report_path).read_text())
    assert saved["ok"] is True and saved["format"] == fmt and saved["verified"]
    assert [t["name"] for t in saved["inputs"]] == [n.id for n in project.graph.nodes_of_type("Input")]
    assert [t["name"] for t in saved["outputs"]] == [n.id for n in project.graph.nodes_of_type("Output")]
    assert all(t["shape"][0] == "batch" for t in saved["inputs"] + saved["outputs"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind
    if fmt == "onnx":
        model = onnx.load(str(artifact))
        assert [i.name for i in model.graph.input] == [t["name"] for t in saved["inputs"]]
        assert [o.name for o in model.graph.output] == [t["name"] for t in saved["outputs"]]
        assert saved["opset"] == report.opset == 20
    if fmt == "python":
        assert artifact.suffix == ".py" and artifact.with_suffix(".pt").is_file()
    if fmt == "onnx" and name == "speech_mel_cnn":
        # the TorchScript-based exporter has no complex STFT at any opset: pre-flight finds
        # that on the node, so the whole model goes to the exporter that can, once
        assert report.exporter == "dynamo"
        assert report.fallback.startswith("node mel cannot be exported by the TorchScript-based exporter")
        assert "cannot export mel" in report.preflight
    elif fmt == "onnx":
        assert report.exporter == "torchscript" and report.fallback is None
