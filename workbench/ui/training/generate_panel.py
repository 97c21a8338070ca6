"""The Generate dock: continue a prompt with the open token model, tokens appearing as sampled.

Generation runs on a QThread (workbench.inference does the work; this file only shows it);
Stop sets a flag read before every token, so it ends within one forward pass. The dock
offers it only for graphs whose Input is int64 tokens and whose output is per-token logits,
and says why not otherwise. Recent prompts are kept per project in the app's settings.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.ui import settings
from workbench.ui.training.side_docks import install_side_dock, run_weights

__all__ = ["GeneratePanel", "GenerateThread", "install_generate_panel"]

HISTORY = 20  # prompts kept per project


class GenerateThread(QThread):
    """Opens the model once and streams pieces of text; never touches a widget."""

    piece = Signal(str)
    ended = Signal(str, bool)  # a closing line, and whether it is an error

    def __init__(self, snapshot: dict, path: Path | None, weights: str, prompt: str, max_new: int, sampling) -> None:
        super().__init__()
        self.snapshot, self.path, self.weights = snapshot, path, weights
        self.prompt, self.max_new, self.sampling = prompt, max_new, sampling
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:
        from workbench.core.project import project_from_dict
        from workbench.inference.generation import generate
        from workbench.inference.opening import open_generator
        from workbench.inference.token_model import GenerationError

        count, start = 0, time.perf_counter()
        try:
            project = project_from_dict(self.snapshot)
            project.path = self.path
            model, tokenizer = open_generator(project, self.weights)
            start = time.perf_counter()
            for piece in generate(model, tokenizer, self.prompt, self.max_new, self.sampling, lambda: self._stop):
                count += 1
                if piece.text:
                    self.piece.emit(piece.text)
        except (GenerationError, ValueError, OSError) as exc:
            self.ended.emit(str(exc), True)
            return
        seconds = time.perf_counter() - start
        rate = f"{count / seconds:.1f}" if seconds > 0 else "-"
        how = "stopped" if self._stop else "done"
        self.ended.emit(f"{how}: {count} tokens in {seconds:.1f} s ({rate} tokens/s)", False)


class GeneratePanel(QWidget):
    def __init__(self, window, dashboard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_, self.dashboard = window, dashboard
        self.thread: GenerateThread | None = None
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.weights = QComboBox()
        self.weights.setObjectName("generate_weights")
        self.weights.setToolTip("Which run's weights (and tokenizer) generate")
        self.history = QComboBox()
        self.history.setObjectName("generate_history")
        self.history.setToolTip("Recent prompts of this project")
        self.history.activated.connect(lambda index: index > 0 and self.prompt.setPlainText(self.history.itemData(index)))
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("generate_prompt")
        self.prompt.setPlaceholderText("Type a prompt…")
        self.prompt.setMaximumHeight(70)
        self.temperature = self._number(QDoubleSpinBox(), 0.0, 5.0, 0.8, "0 picks the likeliest token every time (greedy)")
        self.temperature.setSingleStep(0.1)
        self.top_k = self._number(QSpinBox(), 0, 1_000_000, 50, "sample among the k likeliest tokens; 0: all")
        self.top_p = self._number(QDoubleSpinBox(), 0.01, 1.0, 0.95, "nucleus: the likeliest tokens up to this mass")
        self.top_p.setSingleStep(0.05)
        self.max_tokens = self._number(QSpinBox(), 1, 100_000, 200, "how many tokens to add")
        self.seed = self._number(QSpinBox(), 0, 2**31 - 1, 0, "random seed of the sampler")
        form = QFormLayout()
        form.addRow("Weights", self.weights)
        form.addRow("Recent", self.history)
        knobs = QHBoxLayout()
        for label, widget in (("Temp.", self.temperature), ("Top-k", self.top_k), ("Top-p", self.top_p)):
            knobs.addWidget(QLabel(label))
            knobs.addWidget(widget)
        more = QHBoxLayout()
        for label, widget in (("Max tokens", self.max_tokens), ("Seed", self.seed)):
            more.addWidget(QLabel(label))
            more.addWidget(widget)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generate_button")
        self.generate_button.clicked.connect(lambda _checked=False: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("generate_stop_button")
        self.stop_button.clicked.connect(lambda _checked=False: self.stop())
        more.addStretch(1)
        more.addWidget(self.generate_button)
        more.addWidget(self.stop_button)
        self.output = QPlainTextEdit()
        self.output.setObjectName("generate_output")
        self.output.setReadOnly(True)
        self.status = QLabel()
        self.status.setObjectName("generate_status")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.prompt)
        layout.addLayout(knobs)
        layout.addLayout(more)
        layout.addWidget(self.output, 1)
        layout.addWidget(self.status)

    @staticmethod
    def _number(box, low, high, value, tip):
        box.setRange(low, high)
        box.setValue(value)
        box.setToolTip(tip)
        return box

    # ---- what can generate ------------------------------------------------------------------
    def reason_unavailable(self) -> str:
        """Why the open graph cannot generate ('' when it can)."""
        document = self.window_.document
        if document is None:
            return "Open a project to generate text."
        from workbench.core.compile import CompileError, plan_model
        from workbench.inference.token_model import GenerationError, token_shape

        try:
            token_shape(plan_model(document.graph, document.result), document.result)
        except CompileError as exc:
            return f"Fix the graph first: {exc.reason}"
        except GenerationError as exc:
            return f"This model does not generate text: {exc}"
        return ""

    def refresh(self) -> None:
        reason = self.reason_unavailable()
        chosen = self.weights.currentData()
        self.weights.clear()
        if not reason:
            for label, path in run_weights(self.window_, self.dashboard):
                self.weights.addItem(label, path)
            if self.weights.count() == 0:
                reason = "Train the model first: generation needs a run's weights and tokenizer."
        index = self.weights.findData(chosen)
        if index >= 0:
            self.weights.setCurrentIndex(index)
        self.message.setText(reason)
        self.message.setVisible(bool(reason))
        self._fill_history()
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.thread is not None
        self.generate_button.setEnabled(not running and self.weights.count() > 0 and not self.message.text())
        self.stop_button.setEnabled(running)

    # ---- prompt history ---------------------------------------------------------------------
    def _history_key(self) -> str | None:
        document = self.window_.document
        if document is None:
            return None
        name = str(document.path.resolve()) if document.path else document.display_name
        return "generate/history/" + name.replace("/", "|")

    def prompts(self) -> list[str]:
        key = self._history_key()
        value = settings.settings().value(key, []) if key else []
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    def _remember(self, prompt: str) -> None:
        key = self._history_key()
        if key and prompt:
            kept = [prompt] + [p for p in self.prompts() if p != prompt]
            settings.settings().setValue(key, kept[:HISTORY])
        self._fill_history()

    def _fill_history(self) -> None:
        self.history.clear()
        self.history.addItem("—")
        for prompt in self.prompts():
            self.history.addItem(prompt.replace("\n", " ⏎ ")[:80], prompt)

    # ---- running ----------------------------------------------------------------------------
    def start(self) -> bool:
        if self.thread is not None or self.weights.count() == 0:
            return False
        from workbench.inference.sampling import Sampling, SamplingError

        document = self.window_.document
        prompt = self.prompt.toPlainText()
        try:
            sampling = Sampling(self.temperature.value(), self.top_k.value() or None, self.top_p.value(),
                                self.seed.value())
        except SamplingError as exc:
            self.status.setText(str(exc))
            return False
        self._remember(prompt)
        self.output.setPlainText(prompt)
        self.output.moveCursor(QTextCursor.MoveOperation.End)
        self.status.setText(f"generating from {self.weights.currentText()}…")
        self.thread = GenerateThread(document.to_dict(), document.path, self.weights.currentData(), prompt,
                                     self.max_tokens.value(), sampling)
        self.thread.piece.connect(self._append)
        self.thread.ended.connect(self._ended)
        self.thread.finished.connect(self._finished)
        self.thread.start()
        self._update_buttons()
        return True

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()

    def shutdown(self) -> None:
        if self.thread is not None:
            self.thread.stop()
            self.thread.wait(5000)

    def _append(self, text: str) -> None:
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.output.setTextCursor(cursor)

    def _ended(self, text: str, error: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    def _finished(self) -> None:
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.deleteLater()
        self._update_buttons()


def install_generate_panel(window, dashboard) -> GeneratePanel:
    """The Generate dock, tabbed with the Inspector on the right."""
    panel = GeneratePanel(window, dashboard)
    dock = install_side_dock(window, dashboard, "Generate", "generate", panel)
    dock.visibilityChanged.connect(lambda visible: visible and panel.refresh())
    return panel
