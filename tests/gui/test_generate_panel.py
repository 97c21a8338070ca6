"""The Generate dock: tokens appear as they are sampled, Stop ends it within a second, prompts are kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.inference.lm_runs import example_copy, train
from workbench.paths import DEFAULT_EXAMPLE


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny run shared by the tests: (project file, runs folder, run folder)."""
    folder = tmp_path_factory.mktemp("generate")
    project_file = example_copy(folder, val_fraction=0.01, max_steps=3, batch_size=4, warmup_steps=0)
    run_dir, _bundle, result = train(project_file, folder / "runs")
    assert result.state == "completed", result.message
    return project_file, folder / "runs", run_dir


def trained_window(make_window, trained_run, monkeypatch):
    project_file, runs, run_dir = trained_run
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))  # where the window looks for the project's runs
    window = make_window(project_file)
    panel = window.docks["generate"].widget()
    window.docks["generate"].show()
    window.docks["generate"].raise_()
    panel.refresh()
    return window, panel, run_dir


def test_generates_tokens_live_and_keeps_the_prompt(make_window, trained_run, monkeypatch, qtbot):
    window, panel, run_dir = trained_window(make_window, trained_run, monkeypatch)
    assert panel.message.text() == ""
    assert Path(panel.weights.currentData()).parent == run_dir  # its best weights, newest run first
    panel.prompt.setPlainText("In the beginning")
    panel.temperature.setValue(0.0)
    panel.max_tokens.setValue(30)
    seen = []
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert not panel.generate_button.isEnabled() and panel.stop_button.isEnabled()
    panel.thread.piece.connect(seen.append)
    qtbot.waitUntil(lambda: panel.thread is None, timeout=60_000)
    text = panel.output.toPlainText()
    assert text.startswith("In the beginning") and len(text) == len("In the beginning") + 30
    assert "done: 30 tokens" in panel.status.text()
    assert seen  # pieces arrived one by one through the signal
    assert panel.history.itemData(1) == "In the beginning"  # recent prompts of this project
    assert panel.generate_button.isEnabled() and not panel.stop_button.isEnabled()


def test_stop_ends_generation_within_a_second(make_window, trained_run, monkeypatch, qtbot):
    window, panel, _ = trained_window(make_window, trained_run, monkeypatch)
    panel.prompt.setPlainText("And")
    panel.max_tokens.setValue(100_000)
    assert panel.start()
    qtbot.waitUntil(lambda: len(panel.output.toPlainText()) > 10, timeout=60_000)
    start = time.perf_counter()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.thread is None, timeout=5_000)
    assert time.perf_counter() - start < 1.0
    assert panel.status.text().startswith("stopped:")


def test_a_model_that_does_not_generate_says_why(make_window):
    window = make_window(DEFAULT_EXAMPLE)
    panel = window.docks["generate"].widget()
    panel.refresh()
    assert "does not generate text" in panel.message.text()
    assert not panel.generate_button.isEnabled()


def test_an_untrained_token_model_asks_for_a_run(make_window, tmp_path):
    window = make_window(example_copy(tmp_path))
    panel = window.docks["generate"].widget()
    panel.refresh()
    assert "Train the model first" in panel.message.text()
