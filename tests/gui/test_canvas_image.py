"""The graph as a picture: File › Export Graph Image (PNG, SVG) and `workbench draw`."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from PySide6.QtGui import QImage

from workbench.cli import main
from workbench.core.project import load_project
from workbench.paths import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"


def _svg_texts(path) -> set[str]:
    root = ET.parse(path).getroot()  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}


def _distinct_colours(image: QImage) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)})


def test_export_graph_image_writes_svg_and_png(window, dialogs, tmp_path):
    dialogs.save_path = str(tmp_path / "model.svg")
    window.scene.select_nodes(["conv"])
    window.actions_.export_image.trigger()
    texts = _svg_texts(tmp_path / "model.svg")
    assert set(window.document.graph.nodes) <= texts
    assert "[N, 4, 6, 6]" in texts  # the shapes on the edges too
    assert window.scene.selected_node_ids() == ["conv"]  # drawn unselected, selection kept
    assert "Wrote" in window.statusBar().currentMessage()

    dialogs.save_path = str(tmp_path / "model.png")
    window.actions_.export_image.trigger()
    image = QImage(str(tmp_path / "model.png"))
    assert not image.isNull() and image.width() > 400 and image.height() > 400
    assert _distinct_colours(image) > 10


def test_workbench_draw_writes_every_node_of_an_example(tmp_path, qapp, capsys):
    project = EXAMPLES / "seq2seq_transformer.wbproj"
    out = tmp_path / "seq2seq.svg"
    assert main(["draw", str(project), "-o", str(out)]) == 0
    assert set(load_project(project).graph.nodes) <= _svg_texts(out)
    png = tmp_path / "speech.png"
    assert main(["draw", str(EXAMPLES / "speech_mel_cnn.wbproj"), "-o", str(png), "--layout"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(png))
    assert image.width() > image.height() / 2  # wrapped into columns, not one tall strip
    assert main(["draw", str(project), "-o", str(tmp_path / "model.jpg")]) == 2
    assert capsys.readouterr().err.startswith("error: model.jpg: choose a .png or .svg")
    assert main(["draw", str(project), "-o", str(tmp_path / "no" / "such" / "m.svg")]) == 2
