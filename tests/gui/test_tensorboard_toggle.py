"""The Training settings dock's TensorBoard toggle: on by default, off writes `tensorboard: false`."""

from __future__ import annotations


def test_tensorboard_toggle_round_trips_and_undoes(qtbot, digits_window):
    train = digits_window.settings_panels.training
    doc = digits_window.document
    box = train.widgets["tensorboard"]
    assert box.isChecked() and "tensorboard" not in doc.project.training
    box.setChecked(False)
    assert doc.project.training["tensorboard"] is False
    train.refresh()
    assert not box.isChecked()
    doc.undo_stack.undo()
    assert "tensorboard" not in doc.project.training and box.isChecked()
