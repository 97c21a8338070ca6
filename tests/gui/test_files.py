"""Files: save and re-open, modified marker, close prompt, bad files, templates, recovery."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMessageBox

from tests.gui.conftest import mouse_drag
from workbench.core.project import load_project
from workbench.paths import EXAMPLES, examples
from workbench.ui import autosave, settings
from workbench.ui.templates import TemplateGallery, bundled_templates

Btn = QMessageBox.StandardButton


def _edit(window):
    window.scene.select_nodes(["fc"])
    window.inspector.rows["out_features"].editor.spin.setValue(7)


def test_save_and_reopen_round_trips_the_graph(window, make_window, dialogs, tmp_path):
    _edit(window)
    mouse_drag(window, window.scene.nodes["conv"].outputs[0].scenePos(), window.scene.nodes["lstm"].inputs[0].scenePos())
    target = tmp_path / "mine"
    dialogs.save_path = str(target)
    assert window.files.save()  # untitled: Save asks where
    saved = tmp_path / "mine.wbproj"
    assert saved.is_file() and window.document.path == saved
    expected = window.document.graph.to_dict()
    again = make_window(saved)
    assert again.document.graph.to_dict() == expected
    assert load_project(saved).graph.to_dict() == expected
    assert settings.recent_files()[0] == saved.resolve()


def test_title_shows_the_name_and_a_modified_marker(window, dialogs, tmp_path):
    assert window.windowTitle().startswith("small (not saved)")
    assert not window.isWindowModified()
    _edit(window)
    assert window.isWindowModified()
    dialogs.save_path = str(tmp_path / "t.wbproj")
    window.actions_.save.trigger()
    assert not window.isWindowModified() and window.windowTitle().startswith("t.wbproj")
    window.actions_.undo.trigger()
    assert window.isWindowModified()  # differs from the file again
    window.actions_.redo.trigger()
    assert not window.isWindowModified()


def test_close_with_unsaved_changes_asks(window, dialogs, tmp_path):
    _edit(window)
    dialogs.answers = [Btn.Cancel]
    assert not window.close()
    assert window.isVisible() and dialogs.asked and "small" in dialogs.asked[0][1]
    dialogs.answers = [Btn.Save]
    dialogs.save_path = str(tmp_path / "closing.wbproj")
    assert window.close()
    assert load_project(tmp_path / "closing.wbproj").graph.node("fc").params["out_features"] == 7


def test_close_without_changes_does_not_ask(window, dialogs):
    assert window.close()
    assert dialogs.asked == []


def test_malformed_file_shows_the_error_and_keeps_the_document(window, dialogs, tmp_path):
    _edit(window)
    before = window.document.graph.to_dict()
    document = window.document
    bad = tmp_path / "bad.wbproj"
    bad.write_text('{"format": "model-workbench-project", "version": 1, "graph": {"nodes": [{"id": 3}]}}')
    dialogs.answers = [Btn.Discard]
    dialogs.open_path = str(bad)
    assert not window.files.open()
    assert dialogs.errors and "graph.nodes[0]" in dialogs.errors[0][1]
    assert window.document is document and window.document.graph.to_dict() == before
    assert window.isWindowModified()


def test_open_recent(window, dialogs, tmp_path):
    path = tmp_path / "r.wbproj"
    path.write_text((EXAMPLES / "tabular_mlp.wbproj").read_text())
    assert window.files.open(path)
    window.files.fill_recent_menu()
    actions = window.recent_menu.actions()
    assert actions[0].text() == "r.wbproj"
    window.files.new_from(None)
    actions[0].trigger()
    assert window.document.path == path


def test_template_gallery_lists_every_example_with_a_description(qtbot, window, monkeypatch):
    templates = bundled_templates()
    assert {t.path for t in templates if t.path} == set(examples())
    assert all(t.description and "\n" not in t.description for t in templates)
    gallery = TemplateGallery(window)
    qtbot.addWidget(gallery)
    assert gallery.list.count() == len(examples()) + 1

    def choose(self):
        for i in range(self.list.count()):
            if "cifar" in self.list.item(i).text():
                self.list.setCurrentRow(i)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(TemplateGallery, "exec", choose)
    assert window.files.new()
    assert window.document.project.name == "cifar-resnet-block"
    assert window.document.path is None  # an untitled copy: Save will ask
    assert "b1_add" in window.scene.nodes


def test_autosave_writes_a_recovery_file_that_is_offered_at_start(make_window, dialogs, qtbot):
    from workbench.ui.app import open_initial

    window = make_window(autosave_ms=50)
    _edit(window)
    qtbot.waitUntil(lambda: window.autosave.path.is_file(), timeout=3000)
    data = json.loads(window.autosave.path.read_text())
    assert data["graph"]["nodes"][3]["params"]["out_features"] == 7
    assert data["recovery"]["path"] is None
    # a crash: the file stays behind, left by a process that is gone
    data["recovery"]["pid"] = 2**22 + 12345
    window.autosave.path.write_text(json.dumps(data))
    window.autosave.timer.stop()
    window.autosave.path = window.autosave.path.with_name("other.wbproj")  # this window's own copy
    assert autosave.pending_recoveries()
    dialogs.answers = [Btn.Yes]
    open_initial(window, None)
    assert window.document.graph.node("fc").params["out_features"] == 7
    assert window.isWindowModified()
    assert "recovery" not in window.document.project.extra
    assert not autosave.pending_recoveries()


def test_saving_removes_the_recovery_file(make_window, dialogs, qtbot, tmp_path):
    window = make_window(autosave_ms=20)
    _edit(window)
    qtbot.waitUntil(lambda: window.autosave.path.is_file(), timeout=3000)
    dialogs.save_path = str(tmp_path / "s.wbproj")
    window.files.save()
    assert not window.autosave.path.exists()


def test_panels_and_geometry_are_remembered(make_window, qtbot):
    first = make_window()
    first.docks["problems"].hide()
    first.resize(1111, 777)
    assert first.close()
    second = make_window()
    assert not second.docks["problems"].isVisible()
    second.reset_panels()
    assert second.docks["problems"].isVisible()



def test_a_bundled_example_opens_as_a_copy_that_still_finds_its_data(window, dialogs, tmp_path):
    from workbench.data.facts import data_facts
    from workbench.data.paths import data_base_dir
    from workbench.paths import EXAMPLES

    assert window.files.open(EXAMPLES / "gpt_char.wbproj")
    doc = window.document
    assert doc.path is None  # Save asks where: the installation is never written
    corpus = Path(doc.project.data["params"]["path"])
    assert corpus.is_absolute() and corpus == (EXAMPLES.parent / "datasets" / "kjv_selections.txt").resolve()
    assert data_facts(doc.project.data, data_base_dir(None))["vocab_size"] > 60  # the corpus is still found
    assert "copy of the bundled example" in window.statusBar().currentMessage()
    dialogs.save_path = str(tmp_path / "mine.wbproj")
    assert window.files.save() and doc.path == tmp_path / "mine.wbproj"
    assert (EXAMPLES / "gpt_char.wbproj").read_text(encoding="utf-8").count("../datasets/kjv_selections.txt") == 1
