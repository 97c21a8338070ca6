"""The Runs dock finds a project's runs from the project alone, and Save As of an untitled
project takes its runs along beside the new file."""

from __future__ import annotations

from tests.gui.test_runs_panel import open_panel
from tests.training.run_projects import moons_doc, train_run


def test_save_as_moves_the_untitled_runs_and_the_runs_dock_follows(qtbot, make_window, dialogs, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_RUNS_DIR")  # no override: runs live with their project
    window = make_window(moons_doc(epochs=1))
    project = window.document.project
    assert project.path is None
    made = train_run(project, None)  # what the Train button's child process writes for this window
    window.docks["runs"].widget().mark_stale()  # as the dashboard's run_ended does
    panel = open_panel(window, 1, qtbot)
    assert panel.folder() == made.parent and "untitled-runs" in str(made)
    dialogs.save_path = str(tmp_path / "saved" / "moons-v1.wbproj")
    (tmp_path / "saved").mkdir()
    assert window.files.save_as()
    moved = tmp_path / "saved" / "moons-v1.runs" / made.name
    assert (moved / "metrics.jsonl").is_file() and not made.exists()
    assert window.statusBar().currentMessage().endswith(f"its runs moved to {tmp_path / 'saved' / 'moons-v1.runs'}")
    assert panel.folder() == moved.parent
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=5000)
    newer = train_run(project, None)  # the saved project's next run goes beside it too
    assert newer.parent == moved.parent
    dialogs.save_path = str(tmp_path / "saved" / "moons-v2.wbproj")
    assert window.files.save_as()  # a saved project's runs belong to its file: they stay
    assert sorted(p.name for p in moved.parent.iterdir()) == sorted([made.name, newer.name])
    assert panel.folder() == tmp_path / "saved" / "moons-v2.runs"
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0, timeout=5000)


def test_the_runs_dock_honours_the_override(qtbot, make_window, runs_dir):
    window = make_window(moons_doc(epochs=1))
    made = train_run(window.document.project, None)
    window.docks["runs"].widget().mark_stale()
    assert made.parent == runs_dir / "moons"
    assert open_panel(window, 1, qtbot).folder() == runs_dir / "moons"
