"""File › Export…: the same choices as `workbench export`, run off the UI thread
(export_worker.py), and the verification report shown where the user asked for it
(export_report_view.py).

The export runs on a snapshot of the project, so the window stays usable meanwhile. A
thread is never terminated; closing the dialog waits for a running export to end.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, QThread, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from workbench.ui.export_report_view import ERROR_COLOUR, ReportView
from workbench.ui.export_worker import ExportWorker, Outcome
from workbench.ui.settings_panels.common import mark

__all__ = ["ExportDialog", "output_problem", "weight_choices"]

IDLE_HINT = "The file is checked against PyTorch after it is written; what was verified shows here."
WEIGHT_FILES = {"best.pt": "best epoch", "final.pt": "final", "checkpoint.pt": "latest checkpoint"}


def weight_choices(project, runs_root: Path) -> list[tuple[str, str | None]]:
    """(label, weights path) for the combo: the seed's initial weights, then each run's
    weights files, newest run first (a run's latest checkpoint only when it has no final.pt)."""
    from workbench.training.runs import list_runs

    seed = project.training.get("seed", 0) if isinstance(project.training, dict) else 0
    choices: list[tuple[str, str | None]] = [(f"Initial weights (seed {seed})", None)]
    for info in reversed(list_runs(runs_root)):
        files = [name for name in WEIGHT_FILES if (info.path / name).is_file()]
        if "final.pt" in files and "checkpoint.pt" in files:
            files.remove("checkpoint.pt")
        for name in files:
            choices.append((f"{_describe_run(info)} — {_which(info, name)}", str(info.path / name)))
    return choices


def _describe_run(info) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.started)) if info.started else info.path.name
    text = f"Run {when} · {info.state}"
    best = info.best or {}
    if best.get("metric") and isinstance(best.get("value"), (int, float)):
        text += f" · best {best['metric']} {best['value']:.4g}"
    return text


def _which(info, name: str) -> str:
    if name == "best.pt" and (info.best or {}).get("epoch") is not None:
        return f"best epoch ({info.best['epoch']})"
    if name != "best.pt" and info.epochs_done:
        return f"{WEIGHT_FILES[name]} (epoch {info.epochs_done})"
    return WEIGHT_FILES[name]


def output_problem(text: str) -> str | None:
    """Why the output field cannot be written, or None (the exporter checks the rest)."""
    if not text.strip():
        return "Choose the file to write."
    path = Path(text).expanduser()
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        return f"The folder {folder} does not exist."
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"The folder {folder} is not writable."
    return None


FILE_CHOICE = "\0file"  # the combo item that opens a file dialog


class ExportDialog(QDialog):
    """Non-modal: the window stays usable while an export runs (it uses a snapshot)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.main_window = window
        self.setWindowTitle("Export")
        self.outcome: Outcome | None = None
        self._thread: QThread | None = None
        self._worker: ExportWorker | None = None
        self._project_key = None
        self._weights_index = 0
        self._build()
        self._format_changed()
        window.training.run_ended.connect(self._fill_weights)  # a finished run's weights become a choice
        window.document_changed.connect(self.refresh)
        self.refresh()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        from workbench.export import FORMATS
        from workbench.export.onnx_exporters import DEFAULT_OPSET, EXPORTERS, MAX_OPSET, MIN_OPSET
        from workbench.export.report import EXPORTER_TITLES, FORMAT_TITLES

        titles = {**FORMAT_TITLES, "state_dict": "State dict", "python": "Standalone PyTorch source"}
        self.format_combo = QComboBox()
        for fmt in FORMATS:
            self.format_combo.addItem(titles[fmt], fmt)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.output_edit = QLineEdit()
        self.output_edit.setObjectName("output_edit")
        self.output_edit.textEdited.connect(lambda _text: self._show_output_problem(None))
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.output_message = QLabel("")
        self.output_message.setObjectName("output_message")
        self.output_message.setWordWrap(True)
        self.output_message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.output_message.hide()
        self.weights_combo = QComboBox()
        self.weights_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.weights_combo.currentIndexChanged.connect(self._remember_weights)
        self.weights_combo.activated.connect(self._weights_activated)
        self.dynamic_batch = QCheckBox("Dynamic batch size (unticked: the batch is fixed at 1)")
        self.dynamic_batch.setChecked(True)
        self.opset_spin = QSpinBox()
        self.opset_spin.setRange(MIN_OPSET, MAX_OPSET)
        self.opset_spin.setValue(DEFAULT_OPSET)
        self.opset_default = DEFAULT_OPSET
        self.exporter_combo = QComboBox()
        for key, hint in zip(EXPORTERS, ("fast", "slower, translates more layers")):
            self.exporter_combo.addItem(f"{EXPORTER_TITLES[key]} — {hint}", key)
        self.exporter_combo.setToolTip("Tried first; the other exporter is the fallback")

        output_row = QHBoxLayout()
        output_row.addWidget(self.output_edit, 1)
        output_row.addWidget(self.browse_button)
        output = QVBoxLayout()
        output.setSpacing(2)
        output.addLayout(output_row)
        output.addWidget(self.output_message)
        form = QFormLayout()
        form.addRow("Format:", self.format_combo)
        form.addRow("Output file:", output)
        form.addRow("Weights:", self.weights_combo)
        form.addRow("", self.dynamic_batch)
        opset_row = QHBoxLayout()
        opset_row.addWidget(self.opset_spin)
        opset_row.addWidget(QLabel(f"default {DEFAULT_OPSET}; {MIN_OPSET} to {MAX_OPSET}"), 1)
        self.onnx_box = QGroupBox("ONNX options")
        onnx_form = QFormLayout(self.onnx_box)
        onnx_form.addRow("Opset:", opset_row)
        onnx_form.addRow("Exporter:", self.exporter_combo)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: no known length
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("Exporting and verifying…")
        busy = QHBoxLayout()
        busy.addWidget(self.progress_label)
        busy.addWidget(self.progress, 1)
        self.busy_row = QWidget()
        self.busy_row.setLayout(busy)
        self.busy_row.hide()
        self.report_view = ReportView()
        self.report_view.clear(IDLE_HINT)
        result = QGroupBox("Result")
        result_layout = QVBoxLayout(result)
        result_layout.addWidget(self.busy_row)
        result_layout.addWidget(self.report_view)
        result_layout.addStretch(1)

        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.show_button = QPushButton("Show in Folder")
        self.show_button.clicked.connect(self.show_in_folder)
        self.copy_button = QPushButton("Copy Path")
        self.copy_button.clicked.connect(self.copy_path)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.show_button, self.copy_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        self.inputs = QWidget()
        inputs = QVBoxLayout(self.inputs)
        inputs.setContentsMargins(0, 0, 0, 0)
        inputs.addLayout(form)
        inputs.addWidget(self.onnx_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.inputs)
        layout.addWidget(result, 1)
        layout.addLayout(buttons)
        self.resize(720, 420)
        self._update_buttons()

    # ---- what depends on the open project ------------------------------------------------------
    def refresh(self) -> None:
        """Re-list the runs; for a project other than last time, start from its default file."""
        document = self.main_window.document
        if document is None:
            return
        key = (document.path, document.project.name)
        if key != self._project_key:
            self._project_key = key
            self.output_edit.setText(str(self._default_output()))
            self._show_output_problem(None)
            self.weights_combo.clear()  # another project's choices do not carry over
        self._fill_weights()

    def _default_output(self) -> Path:
        from workbench.export import default_filename

        document = self.main_window.document
        folder = Path(document.path).parent if document.path else Path.home()
        return folder / default_filename(document.project.name, self.fmt)

    def runs_root(self) -> Path:
        from workbench.training.runs import project_runs_dir

        return project_runs_dir(self.main_window.training.runs_dir, self.main_window.document.project)

    def _fill_weights(self, *_args) -> None:
        """Keep the current choice when it is still there; at first (or when it is gone) the
        newest run's first weights file: after training, that is what one means to export."""
        if self.main_window.document is None:
            return
        combo = self.weights_combo
        first = combo.count() == 0
        previous = combo.currentData()
        custom = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())
                  if combo.itemText(i).startswith("File: ")]
        choices = weight_choices(self.main_window.document.project, self.runs_root())
        combo.clear()
        for label, path in [*choices, *custom, ("File…", FILE_CHOICE)]:
            combo.addItem(label, path)
            combo.setItemData(combo.count() - 1, path or label, Qt.ItemDataRole.ToolTipRole)
        found = 0 if previous is None else combo.findData(previous)  # None: the initial weights
        combo.setCurrentIndex(min(1, len(choices) - 1) if first or found < 0 else found)

    def _remember_weights(self, index: int) -> None:
        """The choice to go back to when "File…" is cancelled."""
        if index >= 0 and self.weights_combo.itemData(index) != FILE_CHOICE:
            self._weights_index = index

    def _weights_activated(self, index: int) -> None:
        combo = self.weights_combo
        if combo.itemData(index) != FILE_CHOICE:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Weights", str(self.runs_root()),
                                              "PyTorch weights (*.pt *.pth *.ckpt);;All files (*)")
        if not path:
            combo.setCurrentIndex(self._weights_index)
            return
        combo.insertItem(index, f"File: {Path(path).name}", path)
        combo.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(index)

    # ---- fields ----------------------------------------------------------------------------------
    @property
    def fmt(self) -> str:
        return self.format_combo.currentData()

    def _format_changed(self, *_args) -> None:
        from workbench.export import SUFFIXES

        self.onnx_box.setEnabled(self.fmt == "onnx")
        text = self.output_edit.text().strip()
        if text and not text.endswith(("/", os.sep)) and not Path(text).is_dir():
            self.output_edit.setText(str(Path(text).with_suffix(SUFFIXES[self.fmt])))

    def browse(self) -> None:
        from workbench.export import SUFFIXES

        suffix = SUFFIXES[self.fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.output_edit.text(),
                                              f"{self.format_combo.currentText()} (*{suffix})")
        if path:
            self.output_edit.setText(path if Path(path).suffix else path + suffix)
            self._show_output_problem(None)

    def _show_output_problem(self, message: str | None) -> None:
        mark(self.output_edit, message)
        self.output_message.setText(message or "")
        self.output_message.setVisible(bool(message))

    def options(self) -> dict:
        """The keyword arguments for `workbench.export.export` (the CLI's options)."""
        options = {"fmt": self.fmt, "out": os.path.expanduser(self.output_edit.text().strip()),
                   "weights": self.weights_combo.currentData(), "static_batch": not self.dynamic_batch.isChecked()}
        if self.fmt == "onnx":
            options.update(opset=self.opset_spin.value(), onnx_exporter=self.exporter_combo.currentData())
        return options

    # ---- running ---------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._thread is not None

    def export(self) -> bool:
        """Start an export of the current project; False when one runs or a field is wrong."""
        document = self.main_window.document
        if self.busy or document is None:
            return False
        problem = output_problem(self.output_edit.text())
        self._show_output_problem(problem)
        if problem:
            self.output_edit.setFocus()
            return False
        project = document.project
        worker = ExportWorker(project.to_dict(), project.graph.catalog, self.options())
        thread = QThread()
        thread.setObjectName("export")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.done.connect(self._finished)
        thread.finished.connect(self._thread_ended)
        self._worker, self._thread = worker, thread
        self.outcome = None
        self.report_view.clear()
        self.progress_label.setText(f"Exporting {self.format_combo.currentText()} and verifying…")
        self._update_buttons()
        thread.start()
        return True

    def _finished(self, outcome: Outcome) -> None:
        self.outcome = outcome
        if outcome.report is not None:
            self.report_view.show_report(outcome.report)
        else:
            self.report_view.show_error(outcome.error, outcome.node_id)
            if outcome.node_id:
                self.main_window.reveal_node(outcome.node_id)

    def _thread_ended(self) -> None:
        if self._thread is None:
            return
        self._thread.wait()
        self._worker.deleteLater()
        self._thread.deleteLater()
        self._thread = self._worker = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.busy
        self.inputs.setEnabled(not busy)
        self.export_button.setEnabled(not busy)
        self.busy_row.setVisible(busy)
        has_file = self.outcome is not None and self.outcome.report is not None
        self.show_button.setEnabled(has_file)
        self.copy_button.setEnabled(has_file)

    def shutdown(self) -> None:
        """Wait for a running export to end (never terminate a thread)."""
        if self._thread is not None:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self._thread.wait()
            finally:
                QApplication.restoreOverrideCursor()

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    # ---- the artifact ----------------------------------------------------------------------------
    def show_in_folder(self) -> None:
        if self.outcome is not None and self.outcome.report is not None:
            self.open_folder(Path(self.outcome.report.path).parent)

    def open_folder(self, folder: Path) -> None:
        """Hand the folder to the desktop's file manager (tests replace this)."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def copy_path(self) -> None:
        if self.outcome is not None and self.outcome.report is not None:
            QApplication.clipboard().setText(self.outcome.report.path)
