"""File › Export…: the dialog exports off the UI thread, shows the verification report,
takes weights from a run, and reports mistakes in the dialog (at the field, or on the
node) rather than in a second message box."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.test_training_dashboard import moons
from workbench.core.project import project_from_dict


def open_dialog(window):
    window.actions_.export.trigger()
    dialog = window.export_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def choose_format(dialog, fmt: str) -> None:
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))


def run_export(qtbot, dialog, output: Path, timeout: int = 60000):
    dialog.output_edit.setText(str(output))
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.busy and not dialog.export_button.isEnabled() and dialog.busy_row.isVisible()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=timeout)
    assert dialog.outcome is not None
    return dialog.outcome


def onnx_run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_export_from_the_dialog_produces_a_verified_onnx_file(qtbot, digits_window, runs_dir, tmp_path, monkeypatch):
    window = digits_window
    assert window.actions_.export.shortcut().toString() == "Ctrl+E"
    dialog = open_dialog(window)
    assert dialog.weights_combo.currentText() == "Initial weights (seed 0)"  # no runs yet
    assert not dialog.show_button.isEnabled() and not dialog.copy_button.isEnabled()
    choose_format(dialog, "onnx")
    target = tmp_path / "digits.onnx"

    outcome = run_export(qtbot, dialog, target)

    assert outcome.error is None and outcome.report.ok
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    assert onnx_run(target, x).shape == (5, 10)
    shown = dialog.report_view.text()
    assert "Exported and verified" in dialog.report_view.headline.text()
    assert f"Max abs difference: {outcome.report.max_abs_diff:.3g} vs PyTorch" in shown
    assert "opset 20" in dialog.report_view.rows["Exporter"].text()
    assert Path(dialog.report_view.rows["Report"].text()).is_file()
    opened = []
    monkeypatch.setattr(dialog, "open_folder", opened.append)
    QTest.mouseClick(dialog.show_button, Qt.MouseButton.LeftButton)
    assert opened == [tmp_path]
    QTest.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == str(target)


def test_the_dialog_lists_a_run_and_exports_the_trained_weights(qtbot, make_window, runs_dir, tmp_path, dialogs):
    from workbench.training.session import prepare

    session = prepare(project_from_dict(moons(epochs=1, batch_size=64)), runs_dir=runs_dir)
    session.fit()
    window = make_window(moons(epochs=1, batch_size=64))
    dialog = open_dialog(window)
    combo = dialog.weights_combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels[0] == "Initial weights (seed 0)" and labels[-1] == "File…"
    run_items = [i for i, text in enumerate(labels) if text.startswith("Run ")]
    assert len(run_items) == 2, labels  # best and final of the one run (its checkpoint is the final)
    assert "completed" in labels[1] and "best val_" in labels[1]
    assert combo.currentIndex() == 1  # the newest run's best weights
    final = next(i for i in run_items if "final (epoch 1)" in labels[i])
    assert combo.itemData(final) == str(session.run_dir / "final.pt")
    combo.setCurrentIndex(final)

    outcome = run_export(qtbot, dialog, tmp_path / "moons.onnx")

    assert outcome.report.ok and "final.pt" in dialog.report_view.rows["Weights"].text()
    x = np.random.default_rng(1).standard_normal((7, 2)).astype(np.float32)
    model = session.trainer.model.cpu().eval()
    with torch.no_grad():
        trained = model(torch.from_numpy(x)).numpy()
    exported = onnx_run(tmp_path / "moons.onnx", x)
    assert np.abs(exported - trained).max() < 1e-4

    # a weights file of one's own: "File…" asks for it; cancelling keeps the choice
    dialogs.open_path = ""
    combo.setCurrentIndex(combo.count() - 1)
    combo.activated.emit(combo.count() - 1)
    assert combo.currentIndex() == final
    dialogs.open_path = str(session.run_dir / "best.pt")
    combo.setCurrentIndex(combo.count() - 1)
    combo.activated.emit(combo.count() - 1)
    assert combo.currentText() == "File: best.pt" and dialog.options()["weights"] == dialogs.open_path
    combo.setCurrentIndex(0)  # a choice of initial weights survives reopening the dialog
    window.show_export()
    assert combo.currentIndex() == 0 and dialog.options()["weights"] is None


def test_a_file_that_fails_verification_is_kept_and_the_report_says_why(qtbot, make_window, runs_dir, tmp_path,
                                                                         monkeypatch):
    from workbench.export import verify

    monkeypatch.setattr(verify, "TOLERANCE", -1.0)  # nothing can pass
    dialog = open_dialog(make_window(moons()))
    choose_format(dialog, "torchscript")

    outcome = run_export(qtbot, dialog, tmp_path / "moons.torchscript")

    assert outcome.report is not None and not outcome.report.ok
    headline = dialog.report_view.headline.text()
    assert headline.startswith("⚠ Exported, but verification failed: ") and "above the tolerance -1" in headline
    assert (tmp_path / "moons.torchscript").is_file() and dialog.show_button.isEnabled()


def test_opening_another_project_refreshes_the_default_file_and_the_runs(qtbot, make_window, runs_dir, tmp_path):
    from workbench.training.session import prepare

    window = make_window(moons(epochs=1, batch_size=64))
    dialog = open_dialog(window)
    assert dialog.weights_combo.count() == 2  # initial weights, File…
    other = project_from_dict(moons(epochs=1, batch_size=64))
    other.name = "other"
    prepare(other, runs_dir=runs_dir).fit()
    window.set_project(other)
    assert Path(dialog.output_edit.text()).name == "other.onnx"
    assert dialog.weights_combo.count() == 4 and dialog.weights_combo.currentText().startswith("Run ")


def test_a_node_that_cannot_be_exported_is_named_in_the_dialog_and_selected(qtbot, make_window, runs_dir, tmp_path,
                                                                            dialogs):
    project = moons()
    project["graph"]["nodes"][1] = {"id": "fc1", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3},
                                    "pos": [0, 120]}
    window = make_window(project)
    dialog = open_dialog(window)

    outcome = run_export(qtbot, dialog, tmp_path / "broken.onnx")

    assert outcome.report is None and outcome.node_id == "fc1"
    headline = dialog.report_view.headline.text()
    assert "Export failed at node 'fc1'" in headline and "Conv2d expects" in headline
    assert window.scene.selected_node_ids() == ["fc1"]
    assert not dialog.show_button.isEnabled() and not (tmp_path / "broken.onnx").exists()
    assert dialogs.errors == [] and dialogs.infos == []


def test_an_output_folder_that_does_not_exist_is_reported_at_the_field(qtbot, window, runs_dir, tmp_path):
    dialog = open_dialog(window)
    dialog.output_edit.setText(str(tmp_path / "missing" / "model.onnx"))
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not dialog.busy and dialog.outcome is None
    assert dialog.output_message.isVisible()
    assert dialog.output_message.text() == f"The folder {tmp_path / 'missing'} does not exist."
    assert dialog.output_edit.property("invalid") is True
    QTest.keyClick(dialog.output_edit, Qt.Key.Key_Backspace)  # editing the field clears the message
    assert not dialog.output_message.isVisible() and dialog.output_edit.property("invalid") is False


def test_switching_format_follows_the_suffix_and_enables_onnx_options_only_for_onnx(window, runs_dir, tmp_path):
    dialog = open_dialog(window)
    assert Path(dialog.output_edit.text()) == Path.home() / "small.onnx"  # an unsaved project: home
    dialog.output_edit.setText(str(tmp_path / "net.onnx"))
    seen = {}
    for fmt in ("torchscript", "pt2", "state_dict", "python", "onnx"):
        choose_format(dialog, fmt)
        seen[fmt] = (Path(dialog.output_edit.text()).name, dialog.onnx_box.isEnabled())
    assert seen == {"torchscript": ("net.torchscript", False), "pt2": ("net.pt2", False),
                    "state_dict": ("net.pt", False), "python": ("net.py", False), "onnx": ("net.onnx", True)}
    assert [dialog.format_combo.itemText(i) for i in range(dialog.format_combo.count())] == [
        "ONNX", "TorchScript", "torch.export (.pt2)", "State dict", "Standalone PyTorch source"]
    dialog.dynamic_batch.setChecked(False)
    dialog.opset_spin.setValue(18)
    dialog.exporter_combo.setCurrentIndex(dialog.exporter_combo.findData("dynamo"))
    assert dialog.options() == {"fmt": "onnx", "out": str(tmp_path / "net.onnx"), "weights": None,
                                "static_batch": True, "opset": 18, "onnx_exporter": "dynamo"}
    choose_format(dialog, "state_dict")
    assert "opset" not in dialog.options() and "onnx_exporter" not in dialog.options()


@pytest.mark.parametrize("closing", ["dialog", "window"])
def test_closing_waits_for_a_running_export(qtbot, digits_window, runs_dir, tmp_path, closing):
    dialog = open_dialog(digits_window)
    dialog.output_edit.setText(str(tmp_path))  # a folder: the default file name goes in it
    assert dialog.export()
    thread = dialog._thread
    (dialog if closing == "dialog" else digits_window).close()
    assert not dialog.isVisible() and thread.isFinished()
    qtbot.waitUntil(lambda: not dialog.busy)
    assert dialog.outcome.report.ok and (tmp_path / "digits_cnn.onnx").is_file()
