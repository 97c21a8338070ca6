"""The graph as a picture: PNG or SVG, drawn by the canvas itself.

The scene renders into a QImage (PNG, at twice the canvas scale so it stays sharp) or a
QSvgGenerator (SVG: shapes as paths, the texts as text, so ids can be found and copied).
File › Export Graph Image… uses the scene on screen; `workbench draw` builds the same
scene offscreen from the project file (Qt's offscreen platform, no window, no display).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter

FORMATS = {".png": "PNG image", ".svg": "SVG image"}
MARGIN = 30.0
PNG_SCALE = 2.0
MAX_PIXELS = 40_000_000  # a PNG's pixels at most (160 MB while drawing): a huge graph is drawn smaller


class ImageError(Exception):
    """The picture cannot be written (unknown extension, a folder that is not there)."""


def scene_rect(scene) -> QRectF:
    """Everything drawn: the nodes, the edges and their labels, with a margin."""
    rect = QRectF()
    for item in [*scene.nodes.values(), *scene.edges.values()]:
        rect = rect.united(item.sceneBoundingRect())
        for child in item.childItems():
            if child.isVisible():
                rect = rect.united(child.sceneBoundingRect())
    return rect.marginsAdded(QMarginsF(MARGIN, MARGIN, MARGIN, MARGIN))


def write_image(scene, path) -> Path:
    """Write the scene to `path`; its extension (.png or .svg) says which."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ImageError(f"{path.name}: choose a .png or .svg file name")
    if not path.parent.is_dir():
        raise ImageError(f"{path.parent} is not a folder")
    selected = scene.selectedItems()
    scene.clearSelection()
    scene.picture = True
    try:
        rect = scene_rect(scene)
        if suffix == ".svg":
            _write_svg(scene, rect, path)
        else:
            _write_png(scene, rect, path)
    finally:
        scene.picture = False
        for item in selected:
            item.setSelected(True)
    return path


def _write_png(scene, rect: QRectF, path: Path) -> None:
    scale = min(PNG_SCALE, (MAX_PIXELS / max(rect.width() * rect.height(), 1.0)) ** 0.5)
    size = QSize(max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.backgroundBrush().color())
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), rect, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    if not image.save(str(path), "PNG"):
        raise ImageError(f"could not write {path}")


def _write_svg(scene, rect: QRectF, path: Path) -> None:
    from PySide6.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(round(rect.width()), round(rect.height())))
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle(getattr(scene.document.project, "name", "") or "model")
    generator.setDescription("Drawn by Model Workbench")
    painter = QPainter(generator)
    painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), scene.backgroundBrush())
    scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    if not path.is_file():
        raise ImageError(f"could not write {path}")


def export_dialog(window) -> Path | None:
    """File › Export Graph Image…: ask where, write, say so in the status bar."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    if window.scene is None:
        return None
    doc = window.document
    stem = doc.path.with_suffix("") if doc.path else Path.cwd() / (doc.project.name or "model")
    name, chosen = QFileDialog.getSaveFileName(window, "Export Graph Image", str(stem) + ".png",
                                               "PNG image (*.png);;SVG image (*.svg)")
    if not name:
        return None
    path = Path(name)
    if path.suffix.lower() not in FORMATS:
        path = path.with_suffix(".svg" if "svg" in chosen.lower() else ".png")
    try:
        written = write_image(window.scene, path)
    except (ImageError, OSError) as exc:
        QMessageBox.critical(window, "Export Graph Image", str(exc))
        return None
    window.statusBar().showMessage(f"Wrote {written}", 6000)
    return written
