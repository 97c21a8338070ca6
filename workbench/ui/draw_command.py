"""`workbench draw PROJECT -o model.svg|model.png`: the graph as a picture, headless.

The picture is the canvas's own drawing (ui/graph_image.py) of a scene built offscreen
from the project file: positions as saved, or laid out first with --layout. Qt runs on its
offscreen platform, so no display is needed; PyTorch is not imported.
"""

from __future__ import annotations

import os

__all__ = ["add_arguments", "draw"]


def add_arguments(parser) -> None:
    parser.add_argument("file", help="a .wbproj project file")
    parser.add_argument("-o", "--output", required=True, metavar="IMAGE",
                        help="where to write the picture: a .svg or .png file name")
    parser.add_argument("--layout", action="store_true",
                        help="auto-layout the graph first (as Model › Auto-Layout does), instead of the saved positions")


def draw(project, output: str, layout: bool = False):
    """Write `project`'s graph to `output`; raises graph_image.ImageError for a bad file name."""
    from pathlib import Path

    from workbench.ui.graph_image import FORMATS, ImageError

    if Path(output).suffix.lower() not in FORMATS:
        raise ImageError(f"{Path(output).name}: choose a .png or .svg file name")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["workbench-draw"])
    from workbench.ui.canvas.scene import GraphScene
    from workbench.ui.document import Document
    from workbench.ui.graph_image import write_image

    if layout:
        from workbench.core.layout import layout as auto_layout

        project.graph.move_nodes(auto_layout(project.graph))
    document = Document(project)
    scene = GraphScene(document)
    try:
        return write_image(scene, output)
    finally:
        scene.deleteLater()
        document.deleteLater()
        app.processEvents()
