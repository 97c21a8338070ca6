"""The Training dock: Train / Pause / Resume / Stop, state, progress with ETA, a status
line (device, memory in use, samples/s), live plots and a table of epochs.

Training runs in a `TrainingRun` (process_run.py): a child process (or torchrun's
several) whose events reader threads put on a queue. A `QTimer` at 25 Hz drains everything waiting, folds it into the labels, the
table and the plot buffers, then redraws each changed curve once, so the UI thread
does a few milliseconds of work per tick however fast the run produces steps. A run
that cannot start (data that does not fit the graph, bad settings) says so in the
dashboard, never in a dialog. The status line is read once a second (a second timer),
not per tick. The plots (pyqtgraph) are built the first time the dock
is shown or a run starts, so start-up does not import pyqtgraph.
"""

from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from workbench.ui.deferred import enclosing_dock, on_screen
from workbench.ui.training.process_run import TrainingRun

__all__ = ["TrainingDashboard", "format_eta"]

TICK_MS = 40  # 25 Hz
STATUS_MS = 1000  # the status line is redrawn once a second (the training processes send their memory as often)
COLUMNS = ["epoch", "train loss", "val loss", "val accuracy", "lr", "samples/s"]
# the validation figure the table's fourth column and the metric plot show: the first the run reports
METRICS = (("val_perplexity", "val perplexity", "Validation perplexity"), ("val_accuracy", "val accuracy",
           "Validation accuracy"), ("val_mae", "val MAE", "Validation MAE"))
ACTIVE = ("starting", "running", "paused", "pausing", "stopping")
FINAL = ("completed", "stopped", "failed")


def format_eta(seconds) -> str:
    from workbench.training.console import format_duration  # torch is loaded by then

    return format_duration(seconds, unknown="—")


def _fmt(value) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def _fmt_speed(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


class TrainingDashboard(QWidget):
    state_changed = Signal(str)
    events_applied = Signal(list)  # every batch of events the dashboard took in (other views follow the run)
    run_started = Signal()
    run_ended = Signal(str)  # the final state, once the thread has ended

    def __init__(self, project_source: Callable[[], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_dashboard")
        self.project_source = project_source
        self.overrides: dict | None = None  # e.g. {"epochs": 2} (tests, benchmarks)
        self.runs_dir = None  # None: the Trainer's default ($WORKBENCH_RUNS_DIR or ./runs)
        self.callbacks: tuple = ()  # extra Trainer callbacks (tests, benchmarks); pickled to the training process
        # functions returning a fresh Trainer callback for each run (telemetry, evaluation); they
        # are called on the UI thread, their (picklable) callbacks run in the training process
        self.callback_factories: list[Callable[[], object]] = []
        self.resumed_from: str | None = None
        self.run: TrainingRun | None = None
        self.state = "idle"
        self.setup_failed = False  # the last run failed before it started (a set-up error)
        self.run_dir: str | None = None
        self.checkpoint: str | None = None
        self.last_epoch: dict | None = None
        self.metric_key: str | None = None
        self.events_seen = 0
        self._epochs = 0
        self._steps_per_epoch = 0
        self.world_size = 1  # processes of the current run (torchrun): they can stop only at an epoch's end
        self._last_step: dict | None = None
        self.device: str | None = None  # "cpu", "cuda:0": from fit_start
        self.samples_per_s: float | None = None  # the latest step's or epoch's
        self.memory: dict[int, dict] = {}  # rank -> its latest "memory" event (event_channel.py)
        self._build()
        self.plots = None
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_MS)
        self.status_timer.timeout.connect(self._show_status)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update_buttons()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.train_button = QPushButton("Train")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        for name, button, slot in (("train", self.train_button, self.train), ("pause", self.pause_button, self.pause),
                                   ("resume", self.resume_button, self.resume), ("stop", self.stop_button, self.stop)):
            button.setObjectName(f"{name}_button")
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
        self.state_label = QLabel("idle")
        self.state_label.setObjectName("state_label")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.eta_label = QLabel("")
        self.status_line = QLabel("")
        self.status_line.setObjectName("status_line")
        self.status_line.setMinimumWidth(1)  # a narrow dock cuts it (the tooltip has it all), not the buttons
        self.message = QLabel("")
        self.message.setObjectName("message_label")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        buttons = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(self.state_label)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.eta_label)
        buttons.addSpacing(12)
        buttons.addWidget(self.status_line)
        self.plot_area = QWidget()
        self.plot_layout = QVBoxLayout(self.plot_area)
        self.plot_layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot_area)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([3000, 1000])  # the plots get most of the width from the start
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(buttons)
        self.info_row = QHBoxLayout()  # the message, then the plots' controls (ensure_plots)
        self.info_row.addWidget(self.message, 1)
        layout.addLayout(self.info_row)
        layout.addWidget(splitter, 1)

    def ensure_plots(self):
        if self.plots is None:
            from workbench.ui.training.plots import LivePlots

            self.plots = LivePlots(self.plot_area)
            self.plot_layout.addWidget(self.plots)
            self.info_row.addWidget(self.plots.controls)
            total = sum(self.splitter.sizes()) or 4000
            self.splitter.setSizes([total * 3 // 4, total - total * 3 // 4])
        return self.plots

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.plots is None:
            QTimer.singleShot(0, self._first_show)

    def _first_show(self) -> None:
        """Build the plots once the dashboard can be seen: a dock behind another tab gets a
        show event too, and building them imports pyqtgraph (start-up must not wait for it)."""
        if self.plots is not None:
            return
        if on_screen(self):
            self.ensure_plots()
            return
        dock = enclosing_dock(self)
        if dock is not None and not getattr(self, "_awaiting_dock", False):
            self._awaiting_dock = True
            dock.visibilityChanged.connect(lambda visible: visible and QTimer.singleShot(0, self._first_show))

    # ---- commands ----------------------------------------------------------------------------
    def train(self, resume: str | None = None) -> bool:
        """Start a run of the current project, or continue the run folder `resume` from its
        checkpoint; False when one is already going or none is open."""
        if self.run is not None:
            return False
        project = self.project_source()
        if project is None:
            return False
        plots = self.ensure_plots()
        plots.clear()
        self.table.setRowCount(0)
        self.message.setText("")
        self.setup_failed = False
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.eta_label.setText("")
        self.status_line.setText("")
        self.device = self.samples_per_s = None
        self.memory = {}
        self.world_size = 1
        self.run_dir = self.checkpoint = self.last_epoch = self.metric_key = None
        self.events_seen = 0
        self.resumed_from = str(resume) if resume else None
        callbacks = (*self.callbacks, *(make() for make in self.callback_factories))
        self.run = TrainingRun(project, overrides=self.overrides, runs_dir=self.runs_dir,
                               callbacks=callbacks, resume=resume, parent=self)
        self.run.finished.connect(self._run_finished)
        self._set_state("starting")
        self.run.start()
        self.timer.start()
        self.status_timer.start()
        self.run_started.emit()
        return True

    def pause(self) -> None:
        if self.run is not None and self.state == "running" and self.world_size == 1:
            self.run.pause()
            self._set_state("pausing")

    def resume(self) -> None:
        if self.run is not None and self.state in ("paused", "pausing"):
            self.run.resume()
            self._set_state("running")

    def stop(self) -> None:
        if self.run is not None and self.state in ("starting", "running", "paused", "pausing"):
            self.run.stop()
            self._set_state("stopping")

    def toggle_pause(self) -> None:
        self.resume() if self.state in ("paused", "pausing") else self.pause()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop any run and wait for its thread (closing the window); its checkpoint stays."""
        if self.run is None:
            return True
        ended = self.run.shutdown(timeout_ms)
        if ended:
            self._run_finished()
        return ended

    @property
    def active(self) -> bool:
        return self.run is not None

    # ---- events ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.run is None:
            return
        events = self.run.drain()
        if not events:
            return
        for ev in events:
            self._apply(ev)
        self.events_seen += len(events)
        self._show_progress()
        if self.plots is not None:
            self.plots.refresh()
        self.events_applied.emit(events)

    def _show_progress(self) -> None:
        """The latest step only, once per tick (a progress bar repaints at once on setValue).
        Progress counts optimizer steps, up to max_steps when the run has one."""
        ev, self._last_step = self._last_step, None
        if ev is None:
            return
        epoch, batch, batches = ev["epoch"], ev["batch"], ev["batches"]
        self.progress.setValue(min(ev["step"], self.progress.maximum()))
        self.progress.setFormat(f"epoch {epoch}/{self._epochs} · step {batch}/{batches}")
        self.eta_label.setText(f"ETA {format_eta(ev.get('run_eta_s'))}")
        self.eta_label.setToolTip(f"Time left in the run; this epoch: {format_eta(ev.get('eta_s'))}")

    def _apply(self, ev: dict) -> None:
        kind = ev["event"]
        if kind == "step":
            self.plots.add_step(ev["step"], ev["loss"], ev.get("lr"), ev.get("samples_per_s"))
            self.samples_per_s = ev.get("samples_per_s", self.samples_per_s)
            self._last_step = ev
        elif kind == "epoch":
            self._add_epoch(ev)
        elif kind == "validation":
            self._choose_metric(ev)
            self.plots.add_validation(ev["step"], ev.get("val_loss"), ev.get(self.metric_key) if self.metric_key else None)
        elif kind == "state":
            self._on_state(ev["state"], ev.get("message", ""))
        elif kind == "fit_start":
            self._epochs, self._steps_per_epoch = ev["epochs"], ev["steps_per_epoch"]
            self.world_size = ev.get("world_size") or 1
            self._update_buttons()
            self.run_dir = ev.get("run_dir")
            total = self._epochs * self._steps_per_epoch
            if ev.get("max_steps"):
                total = min(total, ev["max_steps"])
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(min(ev.get("start_step", ev.get("start_epoch", 0) * self._steps_per_epoch), total))
            self.plots.set_x_steps(bool(ev.get("eval_every")))
            self.state_label.setToolTip(f"device {ev.get('device')} · run folder {self.run_dir}")
            self.device = ev.get("device")
            self._show_status()
        elif kind == "memory":
            self.memory[ev.get("rank", 0)] = ev
        elif kind == "checkpoint":
            self.checkpoint = ev.get("path")
        elif kind == "setup_error":
            self.setup_failed = True  # the run never started: clear_failure may drop the message once fixed
            self._show_message(ev["message"], error=True)
        elif kind == "log":
            self._show_message(ev.get("message", ""))

    def _choose_metric(self, ev: dict) -> None:
        """The first epoch or validation event decides which figure the metric plot shows."""
        if self.metric_key is not None:
            return
        key, label, title = next((m for m in METRICS if m[0] in ev), ("", "val metric", "Validation metric"))
        self.metric_key = key
        self.table.setHorizontalHeaderItem(3, QTableWidgetItem(label))
        self.plots.set_metric_name(title, log_y=key == "val_perplexity")

    def _add_epoch(self, ev: dict) -> None:
        self._choose_metric(ev)
        metric = ev.get(self.metric_key) if self.metric_key else None
        self.last_epoch = ev
        self._last_step = None
        if self.plots.by_step:  # its validation came as a "validation" event
            self.plots.add_train(ev["step"], ev.get("train_loss"))
        else:
            self.plots.add_epoch(ev["epoch"], ev.get("train_loss"), ev.get("val_loss"), metric)
        row = self.table.rowCount()
        self.table.insertRow(row)
        speed = ev.get("samples_per_s")
        self.samples_per_s = speed if speed is not None else self.samples_per_s
        for col, value in enumerate((str(ev["epoch"]), _fmt(ev.get("train_loss")), _fmt(ev.get("val_loss")),
                                     _fmt(metric), _fmt(ev.get("lr")), _fmt_speed(speed))):
            item = QTableWidgetItem(value)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)
        self.table.scrollToBottom()
        self.progress.setValue(min(ev["step"], self.progress.maximum()))
        self.progress.setFormat(f"epoch {ev['epoch']}/{self._epochs}")
        self.eta_label.setText(f"ETA {format_eta(ev.get('eta_s'))}")

    def _show_status(self) -> None:
        """Device · memory in use (per rank under torchrun) · samples/s (of all ranks together),
        as the training processes report them: the UI never imports torch for this."""
        if self.device is None:
            return
        first = self.memory.get(min(self.memory)) if self.memory else {}
        parts = [first.get("device_name") or self.device]
        if len(self.memory) == 1:
            parts.append(first["text"])
        elif self.memory:
            parts.append(", ".join(f"rank {rank} {ev['text']}" for rank, ev in sorted(self.memory.items())))
        if self.samples_per_s is not None:
            parts.append(f"{_fmt_speed(self.samples_per_s)} samples/s")
        self.status_line.setText(" · ".join(parts))
        self.status_line.setToolTip("\n".join(parts) + "\n(the device training runs on, the memory in use there "
                                    "(on the CPU: the training process's resident memory) and the training speed)")

    def _on_state(self, state: str, message: str) -> None:
        if state == "resumed":  # a run folder continued: say from where
            self._show_message(message)
            return
        if state == "running" and self.state in ("paused", "pausing"):
            self._show_message("")  # "paused at ..." no longer holds
        if state == "running" and self.state in ("stopping", "pausing") and self.run is not None \
                and (self.run.control.stop_requested or self.run.control.paused):
            return  # an older event; what the user asked since still stands
        self._set_state(state)
        if state in FINAL:
            if state == "completed" and self.last_epoch is not None:
                text = f"completed {self.last_epoch['epoch']} epoch(s)"
                if self.metric_key:
                    text += f" · {self.metric_key.replace('_', ' ')} {_fmt(self.last_epoch.get(self.metric_key))}"
                self.message.setText(message or text)
                self.eta_label.setText("")
            elif state == "failed":
                self._show_message(message or self.message.text(), error=True)
            elif message:
                self.message.setText(message)
        elif message and state == "paused":
            self.message.setText(message)

    def clear_failure(self) -> None:
        """What kept the last run from starting is fixed (the data now fits the graph): its red
        message goes, so the dock no longer reports a problem that is gone."""
        if self.run is None and self.state == "failed" and self.setup_failed:
            self.setup_failed = False
            self._show_message("")

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "")

    def _run_finished(self) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        self.timer.stop()
        self.status_timer.stop()
        events = run.drain()
        for ev in events:
            self._apply(ev)
        if events:
            self.events_applied.emit(events)
        self._show_progress()
        self._show_status()
        if self.plots is not None:
            self.plots.flush()
        if self.state not in FINAL:
            self._set_state("stopped")
        run.deleteLater()
        self._update_buttons()
        self.state_changed.emit(self.state)
        self.run_ended.emit(self.state)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_label.setText(state)
        if state not in ("failed",):
            self.message.setStyleSheet("")
        self._update_buttons()
        self.state_changed.emit(state)

    def _update_buttons(self) -> None:
        running = self.run is not None
        self.train_button.setEnabled(not running)
        self.pause_button.setEnabled(running and self.state == "running" and self.world_size == 1)
        self.resume_button.setEnabled(running and self.state in ("paused", "pausing"))
        self.stop_button.setEnabled(running and self.state in ("starting", "running", "paused", "pausing"))
