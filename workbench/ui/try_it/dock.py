"""The Try-it dock: the trained model on the user's own picture, sound, sentence or table row.

Pick a run's weights (and, to check an export, the exported file), give an input in the
widget that fits the model's Input (drawing pad, files, text box, form) and read the
answer. The model opens and runs in a `TryItThread` (worker.py): the first answer after
choosing weights opens the Predictor, later ones reuse it. Problems are said in the dock
(a model with errors, no run yet, a file it cannot read), never in a dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from workbench.ui.training.side_docks import install_side_dock, run_weights
from workbench.ui.try_it.artifact_picker import ArtifactPicker
from workbench.ui.try_it.image_input import ImageInput
from workbench.ui.try_it.inputs import AudioInput, InputWidget, TabularInput, TextInput, tip
from workbench.ui.try_it.results import ResultsView
from workbench.ui.try_it.worker import Ask, Outcome, PredictorCache, TryItThread

__all__ = ["TryItPanel", "install_try_it_panel"]

ERROR_COLOUR = "#c0392b"
PAGES = {"image": "image", "audio": "audio", "text": "text", "tokens": "text", "seq2seq": "text", "tabular": "tabular"}


class TryItPanel(QWidget):
    def __init__(self, window, dashboard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_, self.dashboard = window, dashboard
        self.cache = PredictorCache()
        self.thread: TryItThread | None = None
        self.pending: list[Ask] = []  # asked while one ran; the newest of a kind replaces the last
        self.profile = None
        self.outcome: Outcome | None = None
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.message = QLabel()
        self.message.setObjectName("try_it_message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # node ids and file names are the user's
        self.weights = QComboBox()
        self.weights.setObjectName("try_it_weights_choice")
        self.weights.setToolTip("Which run's weights answer (best epoch or final)")
        self.weights.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.weights.setMinimumContentsLength(12)
        self.weights.currentIndexChanged.connect(lambda _index: self._model_changed())
        self.artifact = ArtifactPicker(self._project_folder)
        self.artifact.changed.connect(self._model_changed)
        form = QFormLayout()
        form.addRow("Weights", self.weights)
        form.addRow("Check export", self.artifact)
        self.pages: dict[str, InputWidget] = {
            "image": ImageInput(), "audio": AudioInput(), "text": TextInput(), "tabular": TabularInput()}
        # one page shown at a time; not a QStackedWidget, whose height is its tallest page's
        self.stack = QWidget()
        self.unsupported = QLabel()
        self.unsupported.setWordWrap(True)
        self.unsupported.setTextFormat(Qt.TextFormat.PlainText)
        pages = QVBoxLayout(self.stack)
        pages.setContentsMargins(0, 0, 0, 0)
        for page in [self.unsupported, *self.pages.values()]:
            pages.addWidget(page)
        for page in self.pages.values():
            page.asked.connect(self.ask)
        self.show_page(self.unsupported)
        self.pages["image"].saliency_toggled.connect(self._saliency_toggled)
        self.results = ResultsView()
        self.results.chooser.currentIndexChanged.connect(self._chosen_result)
        self.status = QLabel()
        self.status.setObjectName("try_it_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.stack)
        layout.addWidget(self.status)
        layout.addWidget(self.results)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def show_page(self, page: QWidget) -> None:
        for other in [self.unsupported, *self.pages.values()]:
            other.setVisible(other is page)
        self._page = page

    def page(self) -> QWidget:
        """The input widget shown."""
        return self._page

    # ---- what can answer ------------------------------------------------------------------
    def reason_unavailable(self) -> str:
        """Why the dock cannot answer now ('' when it can)."""
        document = self.window_.document
        if document is None:
            return "Open a project to try its model."
        document.flush()  # an edit's re-inference may still be pending
        errors = document.result.errors
        if errors:
            first = errors[0]
            where = f"{first.node_id}: " if first.node_id else ""
            return f"Fix the graph first ({len(errors)} error{'s' * (len(errors) > 1)}): {where}{first.message}"
        if self.weights.count() == 0:
            return ("Train the model first: Try it answers with a run's weights (best or final), "
                    "and this project has no run yet.")
        return ""

    def refresh(self) -> None:
        """Re-read the runs of the open project; keep the chosen weights when they are still there.
        Only while the dock is seen (reading runs imports torch: not before the window is up)."""
        if not self.isVisible():
            return
        chosen = self.weights.currentData()
        choices = run_weights(self.window_, self.dashboard)
        self.weights.blockSignals(True)
        self.weights.clear()
        for label, path in choices:
            self.weights.addItem(label, path)
            self.weights.setItemData(self.weights.count() - 1, tip(path), Qt.ItemDataRole.ToolTipRole)
        index = self.weights.findData(chosen)
        self.weights.setCurrentIndex(max(0, index))
        self.weights.blockSignals(False)
        if self._say_why_not() == "" and (self.weights.currentData() != chosen or self.profile is None):
            self._model_changed()

    def _say_why_not(self) -> str:
        """Show (and return) why the dock cannot answer; '' when it can."""
        reason = self.reason_unavailable()
        self.message.setText(reason)
        self.message.setVisible(bool(reason))
        self.stack.setEnabled(not reason)
        if reason:
            self.profile = None
            self.show_page(self.unsupported)
            self.unsupported.setText("")
            self.results.clear()
        return reason

    def _model_changed(self) -> None:
        """Other weights or exported file: open the model (when the dock is seen) to learn what it takes."""
        self.results.clear()
        if not self.message.isVisible() and self.weights.count() and self.isVisible():
            self.ask("profile", (), {})

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def _project_folder(self) -> str:
        document = self.window_.document
        return str(Path(document.path).parent) if document is not None and document.path else ""

    # ---- asking ------------------------------------------------------------------------------
    def ask(self, method: str, args=(), kwargs=None) -> bool:
        """Run one Predictor call off the UI thread (the newest waits while one runs)."""
        document = self.window_.document
        if document is None or self._say_why_not():  # the graph may have been edited since
            return False
        from workbench.inference.model_view import first_mel_node

        image = self.pages["image"]
        wants_heat = method != "profile" and image.saliency.isChecked() and self._page_name() == "image"
        ask = Ask(document.to_dict(), document.path, self.weights.currentData(), method, tuple(args),
                  dict(kwargs or {}), self.artifact.path, self.artifact.kind,
                  mel=first_mel_node(document.graph, document.result), saliency=wants_heat,
                  weights_label=self.weights.currentText())
        self._set_status("opening the model…" if self.profile is None else "predicting…")
        if self.thread is not None:
            if self.pending and self.pending[-1].method == ask.method:
                self.pending[-1] = ask  # a newer stroke or file supersedes the waiting one
            else:
                self.pending.append(ask)
            return True
        self._start(ask)
        return True

    def _start(self, ask: Ask) -> None:
        self.thread = TryItThread(self.cache, ask)
        self.thread.done.connect(self._done)
        self.thread.failed.connect(self._failed)
        self.thread.finished.connect(self._finished)
        self.thread.start()

    def _saliency_toggled(self, on: bool) -> None:
        first = self.results.current()
        if not on:
            self.pages["image"].view.show_heat(None)
        elif first is not None and first.model_input is not None:
            self.ask("saliency", (first.model_input,), {})

    def _chosen_result(self, _index: int) -> None:
        """Several files answered: the input view follows the answer shown."""
        page, chosen = self.pages.get(self._page_name()), self.results.current()
        if page is not None and chosen is not None:
            page.show_prediction(chosen)
            if self._page_name() == "image" and self.pages["image"].saliency.isChecked():
                self._saliency_toggled(True)

    def _page_name(self) -> str:
        return PAGES.get(self.profile.modality, "") if self.profile is not None else ""

    def _done(self, outcome: Outcome) -> None:
        profile = outcome.profile
        if not profile.same_model(self.profile):
            self.profile = profile
            page = self.pages.get(self._page_name())
            if page is None:
                self.unsupported.setText(f"This model's input ({profile.modality}, shape {list(profile.input_shape)}) "
                                         "is not a picture, sound, text or table row: there is nothing to type or draw "
                                         "for it here.")
                self.show_page(self.unsupported)
            else:
                page.configure(profile)
                self.show_page(page)
        self.profile = profile
        if outcome.predictions:
            self.outcome = outcome
            self.results.show_outcome(outcome)
        page = self.pages.get(self._page_name())
        if page is not None:
            page.show_outcome(outcome)
        self._set_status(outcome.saliency_error or profile.note, error=bool(outcome.saliency_error))

    def _failed(self, message: str) -> None:
        self._set_status(message, error=True)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self.status.setVisible(bool(text))

    def _finished(self) -> None:
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.deleteLater()
        if self.pending:
            self._start(self.pending.pop(0))

    def busy(self) -> bool:
        return self.thread is not None

    def shutdown(self) -> None:
        self.pending = []
        if self.thread is not None:
            self.thread.wait()  # one open or forward pass; a QThread must not outlive its object


def install_try_it_panel(window, dashboard) -> TryItPanel:
    """The Try-it dock, tabbed with the Inspector on the right."""
    panel = TryItPanel(window, dashboard)
    install_side_dock(window, dashboard, "Try it", "try_it", panel)
    return panel
