"""The "Training settings" dock: optimizer, loss, scheduler, epochs, batch size, L1, grad
clip, early stopping, device, AMP and seed of the current project, and the options large
models need: objective (causal LM), max steps, validation every N steps, gradient
accumulation, activation checkpointing and torch.compile.

Every edit builds a new training dict, checks it with `parse_config`, and — only when it is
valid — pushes a SectionCommand on the document's undo stack (keystrokes in one field merge).
An invalid value stays in its field, framed red with the message, and is not applied.
"""

from __future__ import annotations

import copy
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.training.config import (
    COMPILE_BACKENDS, LOSSES, OBJECTIVES, OPTIMIZERS, SCHEDULERS, ConfigError, parse_config,
)
from workbench.ui import torch_ready
from workbench.ui.settings_panels.devices import install_devices
from workbench.ui.settings_panels.common import SectionCommand, mark, vertical_scroller
from workbench.ui.sweep.context import offer_search

MISSING = object()
AMP_CHOICES = [("auto (on for CUDA)", "auto"), ("on", True), ("off", False), ("bf16", "bf16"), ("fp16", "fp16")]
METRICS = ["val_loss", "val_accuracy", "val_perplexity", "train_loss", "train_accuracy"]
COMPILE_CHOICES = ["off", *COMPILE_BACKENDS]
# a field whose value here means "not set": the key is left out of the project
UNSET = {"objective": "auto", "max_steps": 0, "eval_every": 0, "accumulate_steps": 1,
         "activation_checkpointing": False, "compile": "off", "tensorboard": True, "devices": 1, "strategy": "ddp"}

# optimizer params shown per type, with (label, default, kind)
OPT_FIELDS = {
    "momentum": ("Momentum", 0.0, "float"),
    "nesterov": ("Nesterov", False, "bool"),
    "weight_decay": ("Weight decay", 0.0, "float"),
    "betas.0": ("Beta 1", 0.9, "float"),
    "betas.1": ("Beta 2", 0.999, "float"),
    "alpha": ("Alpha", 0.99, "float"),
}
SCHED_FIELDS = {
    "step_size": ("Step size (epochs)", 10, "int", "StepLR"),
    "gamma": ("Gamma", 0.1, "float", "StepLR"),
    "T_max": ("T_max (epochs)", 10, "int", "CosineAnnealingLR"),
    "eta_min": ("Minimum LR", 0.0, "float", "CosineAnnealingLR"),
    "max_lr": ("Max LR", 0.01, "float", "OneCycleLR"),
    "pct_start": ("Warm-up fraction", 0.3, "float", "OneCycleLR"),
    "factor": ("Factor", 0.1, "float", "ReduceLROnPlateau"),
    "patience": ("Patience (epochs)", 10, "int", "ReduceLROnPlateau"),
}


def describe_devices() -> str:
    """What this machine has, in words (imports torch: call it once the app is up)."""
    import torch

    found = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(f"CUDA {i}: {torch.cuda.get_device_name(i)} ({props.total_memory / 2**30:.1f} GiB)")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("MPS (Apple GPU)")
    found.append(f"CPU ({torch.get_num_threads()} threads, {os.cpu_count()} cores)")
    return "\n".join(found)


def _get(d: dict, path: tuple, default=MISSING):
    for key in path:
        if isinstance(d, dict) and key in d:
            d = d[key]
        elif isinstance(d, list) and isinstance(key, int) and key < len(d):
            d = d[key]
        else:
            return default
    return d


def _double(minimum=0.0, maximum=1e6, decimals=6, step=0.001, special=None) -> QDoubleSpinBox:
    w = QDoubleSpinBox()
    w.setRange(minimum, maximum)
    w.setDecimals(decimals)
    w.setSingleStep(step)
    if special:
        w.setSpecialValueText(special)
    return w


def _int(minimum=0, maximum=1_000_000) -> QSpinBox:
    w = QSpinBox()
    w.setRange(minimum, maximum)
    return w


def _optional_int() -> QSpinBox:
    """A whole number >= 1, or 0 shown as "off" (the setting left out)."""
    w = _int(0, 1_000_000_000)
    w.setSpecialValueText("off")
    return w


class TrainingPanel(QWidget):
    applied = Signal()  # a valid edit reached the project

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("training_settings")
        self.document = None
        self._loading = False
        self.errors: dict[str, str] = {}  # field path ("optimizer.lr") -> message
        self.widgets: dict[str, QWidget] = {}
        self.rows: dict[str, QWidget] = {}

        inner = QWidget()
        self.form = QFormLayout(inner)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add = self._add

        self.optimizer = add("optimizer.type", "Optimizer", self._combo(list(OPTIMIZERS)))
        self.lr = add("optimizer.lr", "Learning rate", _double(0.0, 10.0, 6, 0.0001))
        for key, (label, _default, kind) in OPT_FIELDS.items():
            add(f"optimizer.{key}", label, QCheckBox() if kind == "bool" else _double(0.0, 1.0 if "betas" in key else 10.0, 6))
        self.loss = add("loss.type", "Loss", self._combo(list(LOSSES)))
        add("loss.label_smoothing", "Label smoothing", _double(0.0, 1.0, 3, 0.05))
        self.scheduler = add("scheduler.type", "LR scheduler", self._combo(["none", *SCHEDULERS]))
        for key, (label, _default, kind, _sched) in SCHED_FIELDS.items():
            add(f"scheduler.{key}", label, _int(0) if kind == "int" else _double(0.0, 100.0, 6))
        add("warmup_steps", "Warm-up steps", _int(0))
        add("epochs", "Epochs", _int(0))
        add("batch_size", "Batch size", _int(0))
        add("l1", "L1 penalty", _double(0.0, 10.0, 6))
        add("grad_clip", "Gradient clip (max norm)", _double(0.0, 1e6, 3, 0.5, special="off"))
        add("early_stopping", "Early stopping", QCheckBox("on"))
        metric = self._combo(METRICS)
        metric.setEditable(True)
        add("early_stopping.metric", "    metric", metric)
        add("early_stopping.patience", "    patience (epochs)", _int(0))
        self.device = add("device", "Device", self._combo(["auto", "cpu", "cuda", "mps"]))
        self.device_info = QLabel("…")
        self.device_info.setObjectName("device_info")
        self.device_info.setWordWrap(True)
        self.device_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow("Found", self.device_info)
        self.devices = install_devices(self)
        self.amp = add("amp", "Mixed precision (AMP)", self._combo([label for label, _ in AMP_CHOICES]))
        add("seed", "Seed", _int(0, 2**31 - 1))
        hint = self._hint
        add("objective", "Objective", self._combo(list(OBJECTIVES)))
        hint(add("max_steps", "Max steps", _optional_int()),
             "End the run at this optimizer step, even mid-epoch (or after the epochs, whichever comes first)")
        hint(add("eval_every", "Validate every (steps)", _optional_int()),
             "Validate every N optimizer steps as well as at each epoch end; best.pt follows these validations")
        hint(add("accumulate_steps", "Accumulate batches", _int(1)),
             "One optimizer step per this many batches: the effective batch size is batch size x this")
        hint(add("activation_checkpointing", "Activation checkpointing", QCheckBox("on")),
             "Recompute each Transformer/GPT block's activations in the backward pass: less memory, more time")
        hint(add("compile", "torch.compile", self._combo(COMPILE_CHOICES)),
             "Compile the model for training (inductor: fastest; the first steps wait for the compiler)")
        hint(add("tensorboard", "TensorBoard logs", QCheckBox("on")),
             "Also write TensorBoard event files in the run folder: tensorboard --logdir <runs folder> shows every run")

        self.message = QLabel()
        self.message.setObjectName("training_settings_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d9534f;")
        scroll = vertical_scroller(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)
        layout.addWidget(self.message)
        self._device_probed = False

    # ---- building ----------------------------------------------------------------------
    @staticmethod
    def _combo(items) -> QComboBox:
        w = QComboBox()
        w.addItems(items)
        return w

    def _hint(self, widget: QWidget, text: str) -> None:
        """A tooltip on the field's label (the field's own tooltip shows its error)."""
        self.form.labelForField(widget).setToolTip(text)

    def _add(self, key: str, label: str, widget: QWidget) -> QWidget:
        widget.setObjectName(key)
        widget.setMinimumWidth(70)  # the dock may be narrow: never wider than it because of a spin box's range
        self.widgets[key] = widget
        self.form.addRow(label, widget)
        offer_search(widget, lambda: f"training.{key}")  # "Search over this…" (the Sweep dock)
        if isinstance(widget, QComboBox):
            if widget.isEditable():
                widget.currentTextChanged.connect(lambda _t, k=key: self._edited(k))
            else:
                widget.currentIndexChanged.connect(lambda _i, k=key: self._edited(k))
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda _b, k=key: self._edited(k))
        else:
            widget.valueChanged.connect(lambda _v, k=key: self._edited(k))
            widget.editingFinished.connect(self._seal)
        return widget

    # ---- document ----------------------------------------------------------------------
    def set_document(self, document) -> None:
        if self.document is not None:
            try:
                self.document.undo_stack.indexChanged.disconnect(self.refresh)
            except (RuntimeError, TypeError):
                pass
        self.document = document
        if document is not None:
            document.undo_stack.indexChanged.connect(self.refresh)
        self.errors.clear()
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._device_probed:
            self._device_probed = True
            if not torch_ready.is_loaded():
                self.device_info.setText("looking (once PyTorch has loaded)…")
            torch_ready.when_loaded(self._show_devices)

    def _show_devices(self, error: str) -> None:
        try:
            self.device_info.setText(error or describe_devices())
            if not error:
                self.devices.probe()
        except Exception as exc:  # torch missing or broken: say so, never crash the panel
            self.device_info.setText(f"cannot query devices: {exc}")

    @property
    def training(self) -> dict:
        return self.document.project.training if self.document is not None else {}

    def refresh(self, *_args) -> None:
        """Show the project's training dict in the form (after an undo, a new project...)."""
        self._loading = True
        try:
            self.errors.clear()
            t = self.training
            try:
                cfg = parse_config(t)
            except ConfigError:
                cfg = None
            opt = t.get("optimizer", {"type": "Adam", "lr": 0.001})
            opt = {"type": opt} if isinstance(opt, str) else opt
            self._set("optimizer.type", opt.get("type", "Adam"))
            self._set("optimizer.lr", opt.get("lr", 0.001))
            for key, (_l, default, _k) in OPT_FIELDS.items():
                path = tuple(int(p) if p.isdigit() else p for p in key.split("."))
                self._set(f"optimizer.{key}", _get(opt, path, default))
            loss = t.get("loss", {"type": "CrossEntropyLoss"})
            loss = {"type": loss} if isinstance(loss, str) else loss
            self._set("loss.type", loss.get("type", "CrossEntropyLoss"))
            self._set("loss.label_smoothing", loss.get("label_smoothing", 0.0))
            sched = (cfg.scheduler if cfg is not None else t.get("scheduler")) or {}
            self._set("scheduler.type", sched.get("type", "none") if isinstance(sched, dict) else "none")
            for key, (_l, default, _k, _s) in SCHED_FIELDS.items():
                self._set(f"scheduler.{key}", sched.get(key, default) if isinstance(sched, dict) else default)
            for key, default in (("warmup_steps", 0), ("epochs", 10), ("batch_size", 64), ("l1", 0.0), ("seed", 0)):
                self._set(key, t.get(key, default))
            clip = t.get("grad_clip")
            self._set("grad_clip", (clip.get("max_norm", 0.0) if isinstance(clip, dict) else clip) or 0.0)
            es = t.get("early_stopping")
            self._set("early_stopping", bool(es))
            es = es if isinstance(es, dict) else {}
            self._set("early_stopping.metric", es.get("metric", "val_loss"))
            self._set("early_stopping.patience", es.get("patience", 5))
            self._set("device", t.get("device", "auto"))
            for key, unset in UNSET.items():
                value = t.get(key, unset)
                self._set(key, unset if value is None or value is False else value)
            self._set("tensorboard", t.get("tensorboard", True) is not False)
            if t.get("compile") is True:
                self._set("compile", COMPILE_BACKENDS[0])
            amp = t.get("amp", "auto")
            self.amp.setCurrentIndex(next((i for i, (_l, v) in enumerate(AMP_CHOICES) if v == amp and type(v) is type(amp)), 0))
            for w in self.widgets.values():
                mark(w, None)
            self.message.clear()
            self._update_visibility()
        finally:
            self._loading = False

    def _set(self, key: str, value) -> None:
        w = self.widgets[key]
        if isinstance(w, QComboBox):
            if w.findText(str(value)) < 0 and w.isEditable():
                w.addItem(str(value))
            if w.isEditable():
                w.setCurrentText(str(value))
            elif w.findText(str(value)) >= 0:
                w.setCurrentIndex(w.findText(str(value)))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and w.value() != value:
            w.setValue(value)  # only when different: never reformat a field while it is typed in

    def _update_visibility(self) -> None:
        opt = self.widgets["optimizer.type"].currentText()
        allowed = OPTIMIZERS.get(opt, set())
        for key in OPT_FIELDS:
            self.form.setRowVisible(self.widgets[f"optimizer.{key}"], key.split(".")[0] in allowed)
        self.form.setRowVisible(self.widgets["loss.label_smoothing"], "label_smoothing" in LOSSES.get(self.loss.currentText(), ()))
        sched = self.scheduler.currentText()
        for key, (_l, _d, _k, owner) in SCHED_FIELDS.items():
            self.form.setRowVisible(self.widgets[f"scheduler.{key}"], owner == sched)
        self.devices.update_visibility()
        on = self.widgets["early_stopping"].isChecked()
        self.form.setRowVisible(self.widgets["early_stopping.metric"], on)
        self.form.setRowVisible(self.widgets["early_stopping.patience"], on)

    # ---- editing -----------------------------------------------------------------------
    def _value(self, key: str):
        w = self.widgets[key]
        if key == "amp":
            return AMP_CHOICES[w.currentIndex()][1]
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        return w.value()

    def _build(self, key: str) -> dict:
        """The training dict with the edit of field `key` applied."""
        t = copy.deepcopy(self.training)
        value = self._value(key)
        section, _, name = key.partition(".")
        if section == "optimizer":
            opt = t.get("optimizer", {"type": "Adam", "lr": 0.001})
            opt = {"type": opt} if isinstance(opt, str) else dict(opt)
            opt.setdefault("lr", 0.001)
            if name == "type":
                opt = {k: v for k, v in opt.items() if k in ("lr", "type") or k in OPTIMIZERS.get(value, ())}
                opt["type"] = value
            elif name.startswith("betas."):
                betas = list(opt.get("betas", [0.9, 0.999]))
                betas[int(name[-1])] = value
                opt["betas"] = betas
            else:
                opt[name] = value
            t["optimizer"] = opt
        elif section == "loss":
            loss = t.get("loss", {"type": "CrossEntropyLoss"})
            loss = {"type": loss} if isinstance(loss, str) else dict(loss)
            if name == "type":
                loss = {k: v for k, v in loss.items() if k == "type" or k in LOSSES.get(value, ())}
                loss["type"] = value
            elif value == 0 and name == "label_smoothing":
                loss.pop(name, None)
            else:
                loss[name] = value
            t["loss"] = loss
        elif section == "scheduler":
            if name == "type":
                if value == "none":
                    t.pop("scheduler", None)
                else:
                    t["scheduler"] = {"type": value}
            else:
                sched = dict(t.get("scheduler") or {})
                sched[name] = value
                t["scheduler"] = sched
        elif key == "early_stopping":
            if value:
                t["early_stopping"] = {"metric": self._value("early_stopping.metric"), "patience": self._value("early_stopping.patience") or 5}
            else:
                t.pop("early_stopping", None)
        elif section == "early_stopping":
            es = t.get("early_stopping")
            es = dict(es) if isinstance(es, dict) else {}
            es[name] = value
            t["early_stopping"] = es
        elif key == "grad_clip":
            if value:
                t["grad_clip"] = value
            else:
                t.pop("grad_clip", None)
        elif key in UNSET:
            if value == UNSET[key]:
                t.pop(key, None)
            else:
                t[key] = value
        else:
            t[key] = value
        return t

    def _edited(self, key: str) -> None:
        if self._loading or self.document is None:
            return
        new = self._build(key)
        try:
            parse_config(new)
        except ConfigError as exc:
            self._show_error(key, str(exc))
            return
        for k in list(self.errors):
            mark(self.widgets.get(k), None)
        self.errors.clear()
        self.message.clear()
        if new == self.training:
            return
        label = self.form.labelForField(self.widgets[key])
        what = label.text().strip() if label is not None else key
        command = SectionCommand(self.document.project, "training", new, ("training", key),
                                 f"Change {what}", on_change=self.applied.emit)
        self._last = command
        self.document.undo_stack.push(command)  # indexChanged -> refresh() shows it

    def _seal(self) -> None:
        last = getattr(self, "_last", None)
        if last is not None:
            last.sealed = True

    def _show_error(self, key: str, message: str) -> None:
        """Mark the field the message names (else the edited one), show the message."""
        named = message.split(":", 1)[0].removeprefix("training.")
        target = named if named in self.widgets else (named + ".type" if named + ".type" in self.widgets else key)
        if named.startswith("optimizer.betas"):
            target = key if key.startswith("optimizer.betas") else "optimizer.betas.0"
        self.errors[target] = message
        mark(self.widgets.get(target), message)
        self.message.setText(message)
        self._update_visibility()
