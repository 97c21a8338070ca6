"""File > New: a gallery of the bundled example projects, each with a one-line description."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from workbench.core.graph import IO_TYPES, count_layers
from workbench.paths import examples

PATH_ROLE = Qt.ItemDataRole.UserRole
BLANK = "blank"


@dataclass(frozen=True)
class Template:
    path: Path | None  # None: the blank model
    name: str
    description: str
    download: str = ""  # "needs a download (N MB)", or "" when the data is here


def describe(doc: dict) -> str:
    """A one-line description: the file's own "description", else one derived from it."""
    if isinstance(doc.get("description"), str) and doc["description"].strip():
        return doc["description"].strip()
    nodes = doc.get("graph", {}).get("nodes", [])
    inputs = []
    for n in nodes:
        if n.get("type") == "Input":
            params = n.get("params", {})
            shape = "[" + ", ".join(str(v) for v in params.get("shape", [])) + "]"
            kind = "token ids " if params.get("dtype") == "int64" else ""
            inputs.append(f"{kind}{shape}")
    layers = Counter(n.get("type") for n in nodes if n.get("type") not in IO_TYPES)
    top = ", ".join(f"{t} ×{c}" if c > 1 else t for t, c in layers.most_common(3))
    more = "…" if len(layers) > 3 else ""
    data = doc.get("data", {})
    source = data.get("source", "")
    dataset = data.get("params", {}).get("name") or ""
    count = count_layers(n.get("type") for n in nodes)
    parts = [f"{' + '.join(inputs) or 'no input'} → {count} layer{'s' if count != 1 else ''}: {top}{more}"]
    if source:
        parts.append(f"data: {source}{' ' + dataset if dataset else ''}")
    return " · ".join(parts)


def bundled_templates() -> list[Template]:
    found = [Template(None, "Blank model", "An Input sized to the data and one output per class "
                                            "(Flatten → Linear): add layers between")]
    for path in examples():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append(Template(path, str(doc.get("name") or path.stem), describe(doc), download_note(doc, path)))
    return found


def download_note(doc: dict, path: Path) -> str:
    """"needs a download (N MB)" when the example's data set is not on this machine yet."""
    from workbench.data.download import pending_download

    download = pending_download(doc.get("data"), path.parent)
    return download.label if download is not None else ""


def blank_project():
    """The smallest model that fits its data: an Input of the data's sample shape, then
    Flatten and a Linear with one output per class ({"from_data": "num_classes"}, so it
    follows the data source when that changes), then the Output."""
    from workbench.core.graph import Graph
    from workbench.core.project import Project
    from workbench.data.facts import data_facts

    project = Project(name="untitled", graph=Graph())
    facts = data_facts(project.data, Path.cwd())
    graph = project.graph
    graph.add_node("input", "Input", {"shape": list(facts.get("input_shape") or [1, 8, 8])}, (0, 0))
    graph.add_node("flatten", "Flatten", {}, (0, 120))
    graph.add_node("classifier", "Linear", {"out_features": {"from_data": "num_classes"}}, (0, 240))
    graph.add_node("out", "Output", {}, (0, 360))
    for source, target in (("input", "flatten"), ("flatten", "classifier"), ("classifier", "out")):
        graph.connect(source, target)
    return project


class TemplateGallery(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.resize(620, 460)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        for template in bundled_templates():
            note = f" — {template.download}" if template.download else ""
            item = QListWidgetItem(f"{template.name}{note}\n{template.description}")
            item.setData(PATH_ROLE, str(template.path) if template.path else BLANK)
            item.setToolTip(template.description)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.itemActivated.connect(lambda _item: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Start from a template (the copy is yours: Save asks where to keep it)."))
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def choice(self) -> str | None:
        """The chosen example's path, BLANK, or None."""
        item = self.list.currentItem()
        return item.data(PATH_ROLE) if item is not None else None
