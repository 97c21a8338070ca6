"""The "Data" dock: the project's data source and its fields, the validation fraction, the
augmentation list, and a check of the data against the graph.

Edits are SectionCommands on the document's undo stack (keystrokes in one field merge).
After each edit (debounced) and on "Check", the named files and folders are looked up (a
missing one is reported at once), then the data is loaded, checked against the graph's
Input and Output nodes (`check_compatibility`) and previewed on a check thread
(data_check.py): tens of milliseconds for digits, seconds for a folder of files, none of
it on the UI thread. The dock says "checking…" meanwhile; `checked` follows each result.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.data.paths import data_base_dir, default_datasets_root, path_kind, resolve_data_path
from workbench.ui.settings_panels.common import SectionCommand, vertical_scroller
from workbench.ui.settings_panels.data_check import CheckJob, CheckResult, DataChecker, sized_graph_copy
from workbench.ui.settings_panels.download_row import DownloadRow
from workbench.ui.settings_panels.preview import DataPreview

SOURCES = ["digits", "mnist_sample", "synthetic", "torchvision", "image_folder", "csv", "audio_folder", "text_csv", "speechcommands",
           "text_corpus"]
# kept here (not imported) so the panel never pulls a source module in: workbench.data.sources.synthetic.KINDS
SYNTHETIC_KINDS = ["moons", "circles", "spirals", "sine", "waveforms", "shapes", "sequences", "copy", "reverse"]
SYNTHETIC_N = {kind: 1000 if kind == "waveforms" else 2000 for kind in SYNTHETIC_KINDS}  # KINDS[kind][2]: the n used
VISION_SETS = ["MNIST", "FashionMNIST", "CIFAR10"]  # workbench.data.sources.vision.DATASETS
AUGMENTS = ["random_crop", "horizontal_flip", "rotation", "color_jitter", "time_shift", "noise", "gain"]

# source -> [(param, label, kind, default/choices)]; kinds: bool, int, choice, folder, file, column
FIELDS = {
    "digits": [("normalize", "Normalize", "bool", True)],
    "mnist_sample": [("normalize", "Normalize", "bool", True)],
    "synthetic": [("kind", "Kind", "choice", SYNTHETIC_KINDS), ("n", "Samples", "int", 2000)],
    "torchvision": [("name", "Dataset", "choice", VISION_SETS), ("root", "Folder", "folder", None),
                    ("download", "Download if missing", "bool", False)],
    "image_folder": [("path", "Folder", "folder", None), ("val_path", "Validation folder", "folder", None)],
    "csv": [("path", "CSV file", "file", None), ("target", "Target column", "column", None)],
    "audio_folder": [("path", "Folder", "folder", None), ("sample_rate", "Sample rate", "int", 16000)],
    "text_csv": [("path", "CSV file", "file", None), ("text", "Text column", "column", None),
                 ("label", "Label column", "column", None)],
    "speechcommands": [("root", "Folder", "folder", None), ("download", "Download if missing", "bool", False)],
    "text_corpus": [("path", "Text file", "file", None), ("tokenizer", "Tokenizer", "choice", ["char", "bpe"]),
                    ("vocab_size", "BPE vocabulary", "int", 2000)],
}
REQUIRED = {"synthetic": {"kind": "moons"}, "torchvision": {"name": "MNIST"}}


def csv_header(path: Path, delimiter: str = ",") -> list[str]:
    """The column names in a CSV file's first row ([] when it cannot be read)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [c.strip() for c in next(csv.reader(f, delimiter=delimiter), [])]
    except (OSError, UnicodeDecodeError):
        return []


class DataPanel(QWidget):
    checked = Signal(list)  # the messages of the latest check ([] = the data fits)
    diagnostics_changed = Signal(list)  # the same mismatches as Diagnostics on the Input/Output nodes

    def __init__(self, parent=None, check_delay_ms: int = 300) -> None:
        super().__init__(parent)
        self.setObjectName("data_settings")
        self.document = None
        self._loading = False
        self._built_for = None
        self._last = None
        self.fields: dict[str, QWidget] = {}
        self.messages_list: list[str] = []

        self.source = QComboBox()
        self.source.setObjectName("data.source")
        self.source.addItems(SOURCES)
        self.source.setMinimumWidth(70)
        self.source.currentIndexChanged.connect(lambda _i: self._source_changed())
        self.params_box = QWidget()
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setContentsMargins(0, 0, 0, 0)
        self.download_note = QLabel()  # where a download would write (sources that can download)
        self.download_note.setObjectName("data_download")
        self.download_row = DownloadRow()  # "needs a download (N MB)" and the Download button
        self.download_row.downloaded.connect(lambda: self.check(reload=True))
        self.paths_note = QLabel()  # the absolute paths the latest check read
        self.paths_note.setObjectName("data_paths")
        for note in (self.download_note, self.paths_note):
            note.setWordWrap(True)
            note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            note.setStyleSheet("color: palette(mid);")
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setObjectName("data.val_fraction")
        self.val_fraction.setRange(0.0, 0.9)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setDecimals(2)
        self.val_fraction.valueChanged.connect(lambda v: self._edit(("val_fraction",), v, "validation fraction"))
        self.val_fraction.editingFinished.connect(self._seal)

        self.augment_list = QListWidget()
        self.augment_list.setObjectName("data.augment")
        self.augment_list.setMaximumHeight(90)
        self.augment_type = QComboBox()
        self.augment_type.addItems(AUGMENTS)
        self.augment_type.setMinimumWidth(70)
        self.val_fraction.setMinimumWidth(70)
        add = QPushButton("Add")
        add.clicked.connect(self.add_augment)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_augment)
        aug_row = QHBoxLayout()
        aug_row.addWidget(self.augment_type, 1)
        aug_row.addWidget(add)
        aug_row.addWidget(remove)
        self.add_augment_button, self.remove_augment_button = add, remove

        form = QFormLayout()
        form.addRow("Source", self.source)
        form.addRow(self.params_box)
        form.addRow(self.download_note)
        form.addRow(self.download_row)
        form.addRow("Validation fraction", self.val_fraction)
        form.addRow("Augmentation", self.augment_list)
        form.addRow(self._wrap(aug_row))  # full width: the dock may be narrow

        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Check the data against the graph's Input and Output nodes")
        self.check_button.clicked.connect(lambda _checked=False: self.check(reload=True))
        self.status = QLabel()
        self.status.setObjectName("data_status")
        self.status.setWordWrap(True)
        self.messages = QListWidget()
        self.messages.setObjectName("data_messages")
        self.messages.setWordWrap(True)
        self.messages.setMaximumHeight(110)
        self.preview = DataPreview()
        self.bundle = None  # the bundle the latest check loaded (None when it could not load one)
        self.checker = DataChecker(self)
        self.checker.result.connect(self._show_result)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.check_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addWidget(self.paths_note)
        layout.addWidget(self.messages)
        layout.addWidget(QLabel("<b>Preview</b>"))
        layout.addWidget(self.preview)
        layout.addStretch(1)
        scroll = vertical_scroller(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(check_delay_ms)
        self.timer.timeout.connect(self.check)

    @staticmethod
    def _wrap(layout) -> QWidget:
        w = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        w.setLayout(layout)
        return w

    # ---- document ------------------------------------------------------------------
    def set_document(self, document) -> None:
        if self.document is not None:
            for signal, slot in ((self.document.undo_stack.indexChanged, self.refresh), (self.document.inferred, self._schedule)):
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self.document = document
        self._built_for = None
        self.checker.cancel()  # a check of the previous project is not shown
        self.diagnostics_changed.emit([])  # nor its mismatches
        if document is not None:
            document.undo_stack.indexChanged.connect(self.refresh)
            document.inferred.connect(self._schedule)
        self.refresh()
        self._schedule()

    @property
    def data(self) -> dict:
        return self.document.project.data if self.document is not None else {}

    def _schedule(self, *_args) -> None:
        if self.document is not None:
            self.timer.start()

    def refresh(self, *_args) -> None:
        self._loading = True
        try:
            d = self.data
            source = d.get("source", "digits")
            if self.source.findText(source) >= 0:
                self.source.setCurrentIndex(self.source.findText(source))
            if self._built_for != source:
                self._build_fields(source)
            params = d.get("params") or {}
            for name, _label, kind, default in FIELDS.get(source, []):
                w = self.fields[name]
                if source == "synthetic" and name == "n":  # the samples the chosen kind really makes
                    default = SYNTHETIC_N.get(params.get("kind"), default)
                value = params.get(name, default if kind in ("bool", "int") else None)
                if kind == "bool":
                    w.setChecked(bool(value))
                elif kind == "int":
                    if isinstance(value, int) and w.value() != value:
                        w.setValue(value)
                elif kind == "choice":
                    if value is not None and w.findText(str(value)) >= 0:
                        w.setCurrentIndex(w.findText(str(value)))
                elif kind in ("folder", "file"):
                    if w.edit.text() != (value or ""):
                        w.edit.setText(value or "")
                elif kind == "column":
                    self._fill_columns(w, value)
            self.download_note.setText(self._download_text(source, params))
            self.download_note.setVisible(bool(self.download_note.text()))
            self.download_row.show_for(d, self._base_dir())
            vf = d.get("val_fraction", 0.2)
            if isinstance(vf, (int, float)) and self.val_fraction.value() != vf:
                self.val_fraction.setValue(vf)
            self.augment_list.clear()
            for item in d.get("augment") or []:
                if isinstance(item, dict):
                    extra = ", ".join(f"{k}={v}" for k, v in item.items() if k != "type")
                    self.augment_list.addItem(f"{item.get('type')}" + (f" ({extra})" if extra else ""))
                else:
                    self.augment_list.addItem(str(item))
        finally:
            self._loading = False

    # ---- the source's fields ---------------------------------------------------------------
    def _build_fields(self, source: str) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.fields = {}
        for name, label, kind, default in FIELDS.get(source, []):
            if kind == "bool":
                w = QCheckBox()
                w.toggled.connect(lambda b, n=name: self._edit(("params", n), b, n))
            elif kind == "int":
                w = QSpinBox()
                w.setRange(1, 10_000_000)
                w.valueChanged.connect(lambda v, n=name: self._edit(("params", n), v, n))
                w.editingFinished.connect(self._seal)
            elif kind == "choice":
                w = QComboBox()
                w.addItems(default)
                w.currentTextChanged.connect(lambda t, n=name: self._edit(("params", n), t, n))
            elif kind == "column":
                w = QComboBox()
                w.currentTextChanged.connect(lambda t, n=name: t and self._edit(("params", n), t, n))
            else:
                w = self._path_field(name, kind)
            w.setObjectName(f"data.params.{name}")
            w.setMinimumWidth(70)
            self.fields[name] = w
            self.params_form.addRow(label, w)
        self._built_for = source

    def _path_field(self, name: str, kind: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        box.edit = QLineEdit()
        box.edit.setPlaceholderText("choose a folder…" if kind == "folder" else "choose a file…")
        box.edit.editingFinished.connect(lambda n=name, b=box: self._edit(("params", n), b.edit.text().strip() or None, n))
        box.button = QToolButton()
        box.button.setText("…")
        box.button.setToolTip("Browse")
        box.button.clicked.connect(lambda _c=False, n=name, k=kind, b=box: self._browse(n, k, b))
        row.addWidget(box.edit, 1)
        row.addWidget(box.button)
        return box

    def _browse(self, name: str, kind: str, box) -> None:
        start = str(self._base_dir())
        if kind == "folder":
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", start, "CSV files (*.csv *.tsv *.txt);;All files (*)")
        if path:
            box.edit.setText(path)
            self._edit(("params", name), path, name)

    def _base_dir(self) -> Path:
        project = self.document.project if self.document is not None else None
        return data_base_dir(project.path if project is not None else None)

    def _resolve(self, value: str) -> Path | None:
        """The absolute path a field names (as the sources resolve it); None when unusable."""
        try:
            return resolve_data_path(value, self._base_dir())
        except ValueError:
            return None

    def _download_text(self, source: str, params: dict) -> str:
        """Where a download would write, for sources that can download ("" for the others)."""
        if not any(name == "download" for name, *_ in FIELDS.get(source, [])):
            return ""
        root = self._resolve(str(params.get("root") or default_datasets_root()))
        if root is None:
            return ""  # _path_problems reports it
        unsaved = "" if self.document is not None and self.document.project.path else \
            " (the project is not saved, so relative paths start from the current folder)"
        if params.get("download"):
            return f"Training downloads the files if missing, writing only under {root}{unsaved}"
        return f"Reads the files from {root}{unsaved}; nothing is downloaded"

    def _fill_columns(self, combo: QComboBox, value) -> None:
        params = self.data.get("params") or {}
        path = self._resolve(str(params["path"])) if params.get("path") else None
        header = csv_header(path, params.get("delimiter", ",")) if path is not None else []
        if value and value not in header:
            header = [*header, value]
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(header)
        combo.setCurrentIndex(header.index(value) if value in header else -1)
        combo.blockSignals(False)

    # ---- editing ---------------------------------------------------------------------
    def _source_changed(self) -> None:
        if self._loading or self.document is None:
            return
        source = self.source.currentText()
        new = copy.deepcopy(self.data)
        if new.get("source") == source:
            return
        new["source"] = source
        new["params"] = dict(REQUIRED.get(source, {}))
        self._push(new, ("source",), "Change data source")

    def _edit(self, path: tuple, value, what: str) -> None:
        if self._loading or self.document is None:
            return
        new = copy.deepcopy(self.data)
        if path[0] == "params":
            params = dict(new.get("params") or {})
            if value is None:
                params.pop(path[1], None)
            else:
                params[path[1]] = value
            new["params"] = params
        else:
            new[path[0]] = value
        if new != self.data:
            self._push(new, path, f"Change data {what}")

    def add_augment(self) -> None:
        if self.document is None:
            return
        new = copy.deepcopy(self.data)
        new["augment"] = [*(new.get("augment") or []), {"type": self.augment_type.currentText()}]
        self._push(new, ("augment", "add"), "Add augmentation", mergeable=False)

    def remove_augment(self) -> None:
        row = self.augment_list.currentRow()
        items = list(self.data.get("augment") or [])
        if self.document is None or not (0 <= row < len(items)):
            return
        new = copy.deepcopy(self.data)
        del items[row]
        new["augment"] = items
        self._push(new, ("augment", "remove"), "Remove augmentation", mergeable=False)

    def _push(self, new: dict, field: tuple, text: str, mergeable: bool = True) -> None:
        command = SectionCommand(self.document.project, "data", new, ("data", *field), text)
        if self._last is not None and not mergeable:
            self._last.sealed = True
        self.document.undo_stack.push(command)
        self._last = command
        if not mergeable:
            command.sealed = True
        self._schedule()

    def _seal(self) -> None:
        if self._last is not None:
            self._last.sealed = True

    # ---- checking --------------------------------------------------------------------
    def check(self, reload: bool = False) -> None:
        """Check the data section against the graph. Problems found without reading the data
        (a missing file, a graph with errors) are shown at once; otherwise the data is loaded
        (unless the same section was loaded for the same graph inputs last time, or `reload`:
        the Check button) and checked on the check thread. Either way `checked` is emitted
        with the messages."""
        self.timer.stop()
        if self.document is None:
            return
        job = self._job()
        if isinstance(job, list):
            self.checker.cancel()
            self._show_result(CheckResult(job))
            return
        job.reload = reload
        self.status.setText("checking…")
        self.status.setStyleSheet("color: palette(mid);")
        self.checker.submit(job)

    def _show_result(self, result: CheckResult) -> None:
        self.bundle = result.bundle
        if result.preview is not None:
            try:
                self.preview.show_preview(result.preview)
            except Exception as exc:  # a preview must never break the panel
                self.preview.clear(f"no preview: {exc}")
        else:
            self.preview.clear("No preview until the data loads." if result.messages else "")
        self.paths_note.setText("\n".join(f"Reads {line}" for line in result.paths))
        self.paths_note.setVisible(bool(result.paths))
        messages = result.messages
        self.messages_list = messages
        self.messages.clear()
        self.messages.addItems(messages)
        self.status.setText("✓ the data fits the graph" if not messages else f"{len(messages)} problem{'s' if len(messages) != 1 else ''}")
        self.status.setStyleSheet("" if not messages else "color: #d9534f;")
        self.checked.emit(messages)
        self.diagnostics_changed.emit(list(result.diagnostics))

    def _job(self) -> CheckJob | list[str]:
        """What the check thread needs (copies), or the problems that stop it from loading."""
        project = self.document.project
        data = project.data
        source = data.get("source")
        if source not in SOURCES:
            return [f"data.source {source!r} is not a known source; choose one of {', '.join(SOURCES)}"]
        problems = self._path_problems(source, data.get("params") or {})
        if problems:
            return problems
        from workbench.training.config import ConfigError, parse_config
        from workbench.training.graph_io import SetupError, graph_io

        try:
            inputs, output_info = graph_io(project)
        except SetupError as exc:
            return [str(exc)]
        try:
            config = parse_config(project.training)
        except ConfigError as exc:
            return [str(exc)]
        outputs = [n.id for n in project.graph.nodes_of_type("Output")]
        return CheckJob(copy.deepcopy(data), inputs, output_info, config.loss["type"], config.seed, self._base_dir(),
                        f"Output '{outputs[0]}': " if outputs else "", graph=sized_graph_copy(project.graph),
                        output_id=outputs[0] if outputs else None)

    def _path_problems(self, source: str, params: dict) -> list[str]:
        """Named files and folders that are missing (a stat each: cheap on the UI thread)."""
        problems = []
        for name, _label, kind, _default in FIELDS[source]:
            value = params.get(name)
            if kind in ("folder", "file") and value:
                path = self._resolve(str(value))
                found = path_kind(path) if path is not None else "unusable"
                if path is None:
                    problems.append(f"data.params.{name} is not a usable path: {value!r}")
                elif found == "missing" and name == "root":
                    continue  # a download creates it; loading says what is missing and how to fetch it
                elif found == "missing":
                    problems.append(f"data.params.{name} names a {kind} that does not exist: {path}")
                elif found.startswith("unusable"):
                    problems.append(f"data.params.{name} names a path that is {found}: {path}")
                elif found != kind:
                    what = "folder" if kind == "folder" else "regular file"
                    problems.append(f"data.params.{name} names {path}, which is not a {what}")
            elif kind == "file" and name == "path" and not value:
                problems.append(f"data.params.{name} is required for {source}: choose the file")
            elif kind == "folder" and name == "path" and not value:
                problems.append(f"data.params.{name} is required for {source}: choose the folder")
        return problems
