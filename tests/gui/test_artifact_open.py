"""Exported models back into the window (dropped, File > Open, File > Import > ONNX…) and
File > Open in Netron (missing package explained; served on 127.0.0.1 only)."""

from __future__ import annotations

import sys
import urllib.request

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.export.helpers import chain
from workbench.export import export
from workbench.ui.netron_action import MISSING_MESSAGE, NetronServer


def _exported(tmp_path, fmt="onnx", name="m.onnx"):
    project = chain([5], [("Linear", {"out_features": 7}), ("Tanh", {}), ("Linear", {"out_features": 2})],
                    name="carried")
    export(project, fmt, tmp_path / name)
    return tmp_path / name


def _send(widget, kind, path) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where = QPoint(20, 20) if kind is QDragEnterEvent else QPointF(20, 20)
    event = kind(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                 Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return bool(event.isAccepted())


def test_dropping_an_export_on_the_window_recovers_its_project(window, tmp_path, dialogs):
    path = _exported(tmp_path, "torchscript", "m.pt")
    assert _send(window, QDragEnterEvent, path)  # what the canvas passes up: it takes only palette layers
    assert not _send(window, QDragEnterEvent, tmp_path / "notes.txt")
    assert _send(window, QDropEvent, path)
    project = window.document.project
    assert project.name == "carried" and project.path is None  # untitled: Save asks where
    assert [n.type for n in project.graph] == ["Input", "Linear", "Tanh", "Linear", "Output"]
    assert "recovered the project embedded in m.pt" in window.statusBar().currentMessage()
    assert dialogs.errors == []


def test_import_onnx_menu_without_a_project_saves_it_with_weights(qtbot, window, tmp_path, dialogs):
    import onnx
    from onnx import helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "plain.onnx"))
    dialogs.open_path = str(tmp_path / "plain.onnx")
    dialogs.save_path = str(tmp_path / "plain.wbproj")
    window.actions_.import_onnx.trigger()  # imported on a worker thread
    assert "importing plain.onnx" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.document.path == tmp_path / "plain.wbproj", timeout=60000)
    assert dialogs.errors == [] and (tmp_path / "plain.pt").is_file()
    assert "imported it as ONNX" in window.statusBar().currentMessage()


def test_netron_missing_says_how_to_install(window, tmp_path, dialogs, monkeypatch):
    monkeypatch.setitem(sys.modules, "netron", None)  # import netron fails
    dialogs.open_path = str(_exported(tmp_path))
    window.actions_.netron.trigger()
    assert dialogs.infos and "pip install model-workbench[netron]" in dialogs.infos[-1][1]
    assert "pip install model-workbench[netron]" in MISSING_MESSAGE


def test_netron_serves_the_file_on_localhost_only(tmp_path):
    pytest.importorskip("netron")
    server = NetronServer()
    url = server.serve(_exported(tmp_path))
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.stop()
    assert server.address is None


def test_closing_the_window_stops_the_netron_server(make_window, tmp_path, monkeypatch):
    pytest.importorskip("netron")
    from PySide6.QtGui import QDesktopServices

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: True)  # no browser in tests
    window = make_window()
    exported = _exported(tmp_path)
    monkeypatch.setattr("workbench.ui.netron_action.last_export", lambda w: exported)
    window.actions_.netron.trigger()
    address = window.netron_server.address
    assert address is not None and address[0] == "127.0.0.1"
    window.files.confirm_discard = lambda: True
    window.close()
    assert window.netron_server.address is None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{address[0]}:{address[1]}", timeout=2)
