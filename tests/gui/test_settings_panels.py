"""The Training settings and Data docks, driven as a user would."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QTableWidget



def panels(window):
    return window.settings_panels.training, window.settings_panels.data


def choose(combo, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)


def type_into(qtbot, spin, text: str) -> None:
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    spin.editingFinished.emit()


def test_docks_are_installed_tabbed_with_the_inspector(window):
    for name in ("training_settings", "data"):
        assert name in window.docks
        assert window.dockWidgetArea(window.docks[name]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.docks["training_settings"] in window.tabifiedDockWidgets(window.docks["inspector"])


def test_optimizer_and_lr_edits_are_undoable_and_saved(qtbot, digits_window, dialogs, tmp_path):
    window = digits_window
    train, _ = panels(window)
    doc = window.document
    before = dict(doc.project.training)
    assert not doc.is_modified
    choose(train.optimizer, "SGD")
    assert doc.project.training["optimizer"]["type"] == "SGD"
    assert doc.is_modified
    assert train.form.isRowVisible(train.widgets["optimizer.momentum"])
    assert not train.form.isRowVisible(train.widgets["optimizer.betas.0"])
    type_into(qtbot, train.lr, "0.05")
    assert doc.project.training["optimizer"]["lr"] == 0.05
    assert doc.undo_stack.count() == 2  # the keystrokes in lr merged into one step
    train.widgets["optimizer.momentum"].setValue(0.9)
    assert doc.project.training["optimizer"]["momentum"] == 0.9

    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.project.training["optimizer"] == {"type": "SGD", "lr": 0.01}
    assert train.lr.value() == 0.01
    doc.undo_stack.undo()
    assert doc.project.training == before
    assert train.optimizer.currentText() == "Adam"
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert doc.project.training["optimizer"] == {"type": "SGD", "lr": 0.05}

    dialogs.save_path = str(tmp_path / "saved.wbproj")
    assert window.files.save_as() and not doc.is_modified
    assert window.files.open(tmp_path / "saved.wbproj")
    assert window.document is not doc
    assert window.document.project.training["optimizer"] == {"type": "SGD", "lr": 0.05}
    assert train.optimizer.currentText() == "SGD" and train.lr.value() == 0.05


def test_an_invalid_value_is_marked_and_not_applied(qtbot, digits_window):
    window = digits_window
    train, _ = panels(window)
    doc = window.document
    before = dict(doc.project.training)
    train.lr.setValue(0.0)  # the learning rate must be positive
    assert doc.project.training == before and doc.undo_stack.count() == 0
    assert train.lr.property("invalid") is True
    assert "training.optimizer.lr" in train.lr.toolTip() and "positive" in train.message.text()
    train.lr.setValue(0.002)  # fixing it applies it and clears the mark
    assert doc.project.training["optimizer"]["lr"] == 0.002
    assert not train.lr.property("invalid") and not train.message.text()
    # a value that is wrong only together with another field: nesterov needs SGD with momentum
    choose(train.optimizer, "SGD")
    train.widgets["optimizer.nesterov"].setChecked(True)
    assert "nesterov" not in doc.project.training["optimizer"]
    assert train.widgets["optimizer.nesterov"].property("invalid") is True


def test_scheduler_early_stopping_device_and_amp(qtbot, digits_window):
    train, _ = panels(digits_window)
    doc = digits_window.document
    choose(train.scheduler, "StepLR")
    assert doc.project.training["scheduler"] == {"type": "StepLR"}
    assert train.form.isRowVisible(train.widgets["scheduler.gamma"])
    train.widgets["scheduler.gamma"].setValue(0.5)
    assert doc.project.training["scheduler"]["gamma"] == 0.5
    choose(train.scheduler, "none")
    assert "scheduler" not in doc.project.training
    train.widgets["early_stopping"].setChecked(True)
    assert doc.project.training["early_stopping"]["metric"] == "val_loss"
    train.widgets["early_stopping.patience"].setValue(3)
    assert doc.project.training["early_stopping"]["patience"] == 3
    choose(train.device, "cpu")
    choose(train.amp, "off")
    assert doc.project.training["device"] == "cpu" and doc.project.training["amp"] is False
    digits_window.docks["training_settings"].raise_()
    qtbot.waitUntil(lambda: "CPU" in train.device_info.text(), timeout=5000)


def test_synthetic_moons_on_the_digits_example_names_the_input_node(qtbot, digits_window):
    window = digits_window
    _, data = panels(window)
    doc = window.document
    assert data.check() == []  # the example's digits fit its graph
    choose(data.source, "synthetic")
    assert doc.project.data["source"] == "synthetic" and doc.project.data["params"] == {"kind": "moons"}
    with qtbot.waitSignal(data.checked, timeout=3000) as blocker:  # debounced automatic check
        pass
    messages = blocker.args[0]
    assert any("Input 'image'" in m and "[2]" in m for m in messages), messages
    assert any(m.startswith("Output '") for m in messages), messages
    assert data.messages.count() == len(messages)
    doc.undo_stack.undo()
    assert doc.project.data["source"] == "digits" and data.source.currentText() == "digits"
    assert data.check() == []


def test_csv_column_picker_reads_the_header_and_paths_are_checked(qtbot, digits_window, dialogs, tmp_path, monkeypatch):
    window = digits_window
    _, data = panels(window)
    doc = window.document
    table = tmp_path / "table.csv"
    table.write_text("height,weight,species\n1,2,a\n3,4,b\n")
    choose(data.source, "csv")
    assert any("required" in m for m in data.check())
    dialogs.open_path = str(table)
    data.fields["path"].button.click()
    assert doc.project.data["params"]["path"] == str(table)
    target = data.fields["target"]
    assert [target.itemText(i) for i in range(target.count())] == ["height", "weight", "species"]
    choose(target, "species")
    assert doc.project.data["params"]["target"] == "species"
    assert data.check() == []
    data.fields["path"].edit.setText(str(tmp_path / "missing.csv"))
    data.fields["path"].edit.editingFinished.emit()
    assert any("does not exist" in m for m in data.check())
    # folder sources use the folder dialog
    choose(data.source, "image_folder")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    data.fields["path"].button.click()
    assert doc.project.data == {**doc.project.data, "source": "image_folder", "params": {"path": str(tmp_path)}}


def test_augmentation_list_and_val_fraction(qtbot, digits_window):
    _, data = panels(digits_window)
    doc = digits_window.document
    choose(data.augment_type, "rotation")
    data.add_augment_button.click()
    assert doc.project.data["augment"] == [{"type": "rotation"}]
    assert data.augment_list.count() == 1
    data.val_fraction.setValue(0.3)
    assert doc.project.data["val_fraction"] == 0.3
    assert data.check() == []  # rotation is a known augmentation for images
    data.augment_list.setCurrentRow(0)
    data.remove_augment_button.click()
    assert doc.project.data["augment"] == []
    doc.undo_stack.undo()
    assert data.augment_list.count() == 1


def test_preview_shows_thumbnails_labels_and_a_class_histogram(qtbot, digits_window):
    _, data = panels(digits_window)
    data.check()
    preview = data.preview
    assert len(preview.samples) == 8 and all(kind == "images" for kind, _ in preview.samples)
    assert all(label in [str(c) for c in data.bundle.classes] for _, label in preview.samples)
    thumbs = [w for w in preview.grid_box.findChildren(QLabel) if w.pixmap() is not None and not w.pixmap().isNull()]
    assert len(thumbs) == 8
    assert preview.counts is not None and len(preview.counts) == 10 and preview.counts.sum() == len(data.bundle.train)
    assert preview.histogram is not None and not preview.histogram.isHidden()
    choose(data.source, "synthetic")  # moons: features shown as a table, 2 classes
    data.check()
    assert preview.findChild(QTableWidget, "data_preview_table") is not None
    assert len(preview.counts) == 2
    choose(data.source, "csv")
    data.check()
    assert preview.samples == [] and preview.histogram.isHidden()


def test_a_layout_saved_with_other_panels_is_not_restored(make_window):
    """An older version's saved layout (other panels) would park the new docks oddly."""
    from workbench.ui import settings

    first = make_window()
    store = settings.settings()
    store.setValue("window/state", first.saveState(12345))  # as saved by another panel set
    store.sync()
    second = make_window()
    assert not second._restore_settings()
    second.save_settings()
    assert make_window()._restore_settings()
