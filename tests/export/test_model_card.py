"""MODEL_CARD.md beside each export: the facts, from a real run, with every string escaped."""

from __future__ import annotations

import re

from tests.training.run_projects import moons_project, train_run
from workbench.export import export
from workbench.export.model_card import CARD_NAME, md
from workbench.training.runs import read_run


def test_card_from_a_trained_run_holds_the_facts(tmp_path):
    project = moons_project(tmp_path, epochs=2)
    run = train_run(project, tmp_path / "runs")
    (tmp_path / "out").mkdir()
    report = export(project, "onnx", tmp_path / "out" / "moons.onnx", weights=run)
    card_path = tmp_path / "out" / CARD_NAME
    assert str(card_path) in report.files
    card = card_path.read_text()
    assert card.startswith("# moons\n")
    params = 2 * 16 + 16 + 16 * 2 + 2
    assert f"parameters: {params:,} ({params:,} trainable)" in card
    assert f"MACs per sample: {2 * 16 + 16 * 2:,}" in card
    assert "source: synthetic" in card and "kind: moons" in card
    assert "optimizer: type=Adam, lr=0.01" in card and "batch\\_size: 40" in card
    last = read_run(run).last
    assert f"val\\_loss: {last['val_loss']:.6g}" in card and f"val\\_accuracy: {last['val_accuracy']:.6g}" in card
    assert f"run {md(run.name)}: completed, 2 epoch(s)" in card
    assert f"max abs difference against PyTorch: {report.max_abs_diff:.3g}" in card
    assert "result: OK, verified" in card


def test_strings_cannot_inject_markdown_or_html(tmp_path):
    project = moons_project(tmp_path)
    project.name = "<script>alert(1)</script> [click](http://evil) **bold**\n# heading"
    project.data["params"]["kind"] = "moons"
    project.training["note|x"] = "`code` <b>"
    export(project, "state_dict", tmp_path / "m.pt")
    card = (tmp_path / CARD_NAME).read_text()
    body = card.replace("\\<", "").replace("\\>", "")
    assert "<" not in body and ">" not in body
    assert "[click](" not in card and "**bold**" not in card and "\n# heading" not in card
    assert not re.search(r"(?<!\\)`", card)
    assert "none: the weights do not come from a training run" in card
