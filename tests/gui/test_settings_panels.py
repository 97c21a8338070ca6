"""The Training settings and Data docks, driven as a user would."""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog, QLabel, QTableWidget

from tests.data.makers import png_folder, wav_folder, write_csv
from workbench.ui.settings_panels.preview import WAVE_SIZE


def panels(window):
    window.docks["data"].raise_()  # the preview draws only when on screen
    return window.settings_panels.training, window.settings_panels.data


def choose(combo, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)


def quiet(qtbot, data) -> None:
    """Let the check the window starts by itself finish (on a loaded machine it may already
    run when the test starts), and forget the bundle it loaded."""
    qtbot.waitUntil(lambda: not data.timer.isActive() and not data.checker.busy, timeout=20000)
    data.checker.loaded = None


def checked(qtbot, data) -> list[str]:
    """Run the Data dock's check and wait for its result (it loads on a check thread)."""
    with qtbot.waitSignal(data.checked, timeout=20000) as blocker:
        data.check()
    return blocker.args[0]


def use_source(qtbot, data, source: str, **params) -> list[str]:
    """Pick a source and fill its fields as a user would; the check's messages."""
    choose(data.source, source)
    for name, value in params.items():
        field = data.fields[name]
        if hasattr(field, "edit"):
            field.edit.setText(str(value))
            field.edit.editingFinished.emit()
        elif hasattr(field, "setValue"):
            field.setValue(value)
        else:
            choose(field, value)
    return checked(qtbot, data)


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
    assert checked(qtbot, data) == []  # the example's digits fit its graph
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
    assert checked(qtbot, data) == []


def test_csv_column_picker_reads_the_header_and_paths_are_checked(qtbot, digits_window, dialogs, tmp_path, monkeypatch):
    window = digits_window
    _, data = panels(window)
    doc = window.document
    table = tmp_path / "table.csv"
    table.write_text("height,weight,species\n1,2,a\n3,4,b\n5,6,a\n7,8,b\n9,10,a\n")
    choose(data.source, "csv")
    assert any("required" in m for m in checked(qtbot, data))
    dialogs.open_path = str(table)
    data.fields["path"].button.click()
    assert doc.project.data["params"]["path"] == str(table)
    target = data.fields["target"]
    assert [target.itemText(i) for i in range(target.count())] == ["height", "weight", "species"]
    choose(target, "species")
    assert doc.project.data["params"]["target"] == "species"
    messages = checked(qtbot, data)  # the file is read: 2 features do not fit the digits CNN's image Input
    assert messages and not any("does not exist" in m or "required" in m for m in messages), messages
    data.fields["path"].edit.setText(str(tmp_path / "missing.csv"))
    data.fields["path"].edit.editingFinished.emit()
    assert any("does not exist" in m for m in checked(qtbot, data))
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
    assert checked(qtbot, data) == []  # rotation is a known augmentation for images
    data.augment_list.setCurrentRow(0)
    data.remove_augment_button.click()
    assert doc.project.data["augment"] == []
    doc.undo_stack.undo()
    assert data.augment_list.count() == 1


def test_preview_shows_thumbnails_labels_and_a_class_histogram(qtbot, digits_window):
    _, data = panels(digits_window)
    checked(qtbot, data)
    preview = data.preview
    assert len(preview.samples) == 8 and all(kind == "images" for kind, _ in preview.samples)
    assert all(label in [str(c) for c in data.bundle.classes] for _, label in preview.samples)
    thumbs = [w for w in preview.grid_box.findChildren(QLabel) if w.pixmap() is not None and not w.pixmap().isNull()]
    assert len(thumbs) == 8
    assert preview.counts is not None and len(preview.counts) == 10 and preview.counts.sum() == len(data.bundle.train)
    assert preview.histogram is not None and not preview.histogram.isHidden()
    choose(data.source, "synthetic")  # moons: features shown as a table, 2 classes
    checked(qtbot, data)
    assert preview.findChild(QTableWidget, "data_preview_table") is not None
    assert len(preview.counts) == 2
    choose(data.source, "csv")
    checked(qtbot, data)
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


def test_the_check_loads_off_the_ui_thread_and_drops_a_superseded_result(qtbot, digits_window, monkeypatch):
    import workbench.data

    _, data = panels(digits_window)
    quiet(qtbot, data)
    real = workbench.data.load_data
    gate = threading.Event()
    calls = []

    def held_load(section, *args, **kwargs):
        calls.append((section["source"], threading.current_thread() is threading.main_thread()))
        if len(calls) == 1:
            gate.wait(10)  # the first (digits) load takes "long"
        return real(section, *args, **kwargs)

    monkeypatch.setattr(workbench.data, "load_data", held_load)
    results = []
    data.checked.connect(results.append)
    start = time.perf_counter()
    data.check()
    assert time.perf_counter() - start < 0.5  # the UI thread does not wait for the load
    assert data.status.text() == "checking…"
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)
    choose(data.source, "synthetic")  # a new request while the first is loading
    data.check()
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 1, timeout=20000)
    qtbot.wait(200)
    assert [source for source, _ in calls[:2]] == ["digits", "synthetic"]
    assert not any(on_main for _, on_main in calls)
    assert len(results) == 1  # the digits result was dropped: only synthetic's is shown
    assert any("Input 'image'" in m for m in results[0]) and data.bundle.source == "synthetic moons"
    assert data.status.text() != "checking…"


def test_the_same_data_is_loaded_once_until_check_is_clicked(qtbot, digits_window, monkeypatch):
    import workbench.data

    _, data = panels(digits_window)
    quiet(qtbot, data)
    real = workbench.data.load_data
    loads = []
    monkeypatch.setattr(workbench.data, "load_data", lambda *a, **k: loads.append(1) or real(*a, **k))
    assert checked(qtbot, data) == [] and len(loads) == 1
    assert checked(qtbot, data) == [] and len(loads) == 1  # e.g. after an edit elsewhere in the graph
    assert len(data.preview.samples) == 8
    with qtbot.waitSignal(data.checked, timeout=20000):
        data.check_button.click()  # the files may have changed: read them again
    assert len(loads) == 2
    choose(data.source, "synthetic")
    checked(qtbot, data)
    assert len(loads) == 3 and data.bundle.source == "synthetic moons"


def drawn_pixels(label: QLabel) -> int:
    image = label.pixmap().toImage()
    return sum(image.pixelColor(x, y).alpha() > 0 and image.pixelColor(x, y) != QColor(0, 0, 0, 40)
               for x in range(image.width()) for y in range(image.height()))


def test_audio_folder_preview_draws_waveforms_with_labels(qtbot, digits_window, tmp_path):
    _, data = panels(digits_window)
    root = wav_folder(tmp_path / "clips", rate=8000, frames=400, per_class=4)
    use_source(qtbot, data, "audio_folder", path=root, sample_rate=8000)
    preview = data.preview
    assert preview.samples and all(kind == "waveforms" for kind, _ in preview.samples)
    assert {label for _, label in preview.samples} <= {"high", "low"}
    waves = [w for w in preview.grid_box.findChildren(QLabel) if w.pixmap() is not None and not w.pixmap().isNull()]
    assert len(waves) == len(preview.samples)
    assert (waves[0].pixmap().width(), waves[0].pixmap().height()) == WAVE_SIZE
    assert drawn_pixels(waves[0]) > WAVE_SIZE[0]  # an envelope, not a blank box
    assert len(preview.counts) == 2 and int(preview.counts.sum()) == len(data.bundle.train)


def test_text_preview_shows_the_words_and_csv_preview_the_file_columns(qtbot, digits_window, tmp_path):
    _, data = panels(digits_window)
    texts = ["the cat sat down", "a dog ran far", "birds sing at dawn", "fish swim deep",
             "rain falls softly", "the sun is warm", "wind moves trees", "snow covers hills"]
    path = write_csv(tmp_path / "texts.csv", ["text", "label"],
                     [[t, "calm" if i % 2 else "busy"] for i, t in enumerate(texts)])
    use_source(qtbot, data, "text_csv", path=path, text="text", label="label")
    preview = data.preview
    assert preview.samples and all(kind == "tokens" for kind, _ in preview.samples)
    lines = [w.toolTip() for w in preview.grid_box.findChildren(QLabel) if w.toolTip()]
    assert lines and all(line in texts for line in lines), lines  # decoded through the vocabulary
    assert len(preview.counts) == 2

    rows = [[1.5 + i, 60.25 + 2 * i, "ab"[i % 2]] for i in range(10)]
    table_path = write_csv(tmp_path / "table.csv", ["height", "weight", "species"], rows)
    use_source(qtbot, data, "csv", path=table_path, target="species")
    table = data.preview.findChild(QTableWidget, "data_preview_table")
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["height", "weight", "label"]
    shown = [(float(table.item(r, 0).text()), float(table.item(r, 1).text()), table.item(r, 2).text())
             for r in range(table.rowCount())]
    assert shown and all(row in [tuple(r) for r in rows] for row in shown), shown  # as in the file, not standardised


def test_image_folder_preview_reads_thumbnails_and_counts_without_loading_every_file(qtbot, digits_window, tmp_path):
    _, data = panels(digits_window)
    root = png_folder(tmp_path / "pictures", classes=("cat", "dog"), per_class=5)
    use_source(qtbot, data, "image_folder", path=root)
    preview = data.preview
    thumbs = [w for w in preview.grid_box.findChildren(QLabel) if w.pixmap() is not None and not w.pixmap().isNull()]
    assert len(thumbs) == len(preview.samples) == min(8, len(data.bundle.train))
    assert {label for _, label in preview.samples} <= {"cat", "dog"}
    assert int(preview.counts.sum()) == len(data.bundle.train)
