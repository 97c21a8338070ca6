"""TensorBoard event files in the run folder, so `tensorboard --logdir <runs>` shows every run.

A Trainer callback writing with `torch.utils.tensorboard.SummaryWriter` into the run
folder itself (one run = one TensorBoard run). What it writes, all at the global optimizer
step, with the very numbers of the event stream (metrics.jsonl holds the epoch and
validation ones):

    step/loss, step/lr, step/samples_per_s       each "step" event
    epoch/<figure>                               each number of an "epoch" event (train_loss,
                                                 val_loss, val_accuracy, lr, samples_per_s, ...)
    validation/<metric>                          each "validation" event (runs with eval_every)
    confusion_matrix                             an image, at each "confusion" event
    activations/<node>, gradients/<node>         histograms of one training step's node outputs
                                                 and parameter gradients, at the sampled steps
    hparams                                      the training settings and the graph's size
                                                 (hparams plugin), its metrics the epoch/* tags

Sampled steps are the live Telemetry's (the GUI's canvas overlay) when one samples,
otherwise every `every` steps (default: about four times an epoch). Each histogram reads at
most HISTOGRAM_VALUES values (an even stride), so a sample stays cheap on a large model.
A run whose event files cannot be written still trains: the failure is one warning.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from workbench.training.callbacks import Callback
from workbench.training.metrics import available_metrics
from workbench.training.telemetry import Telemetry, first_tensor

__all__ = ["TensorBoardLog", "graph_figures", "hparams_of", "confusion_image", "HISTOGRAM_VALUES"]

HISTOGRAM_VALUES = 1 << 16
EPOCH_SKIP = frozenset({"epoch", "epochs", "step", "monitor", "improved", "eta_s", "event", "time"})
VALIDATION_SKIP = EPOCH_SKIP | {"batch"}
SAMPLES_PER_EPOCH = 4


class TensorBoardLog(Callback):
    def __init__(self, log_dir: Path, *, graph_figures: dict | None = None, every: int | None = None) -> None:
        """`graph_figures`: numbers about the model for the hparams table (parameters, layers,
        FLOPs); `every`: steps between histogram samples without a sampling Telemetry."""
        self.log_dir = Path(log_dir)
        self.graph_figures = dict(graph_figures or {})
        self.every = every
        self.writer = None
        self._telemetry: Telemetry | None = None
        self._next = 0
        self._handles: list = []
        self._activations: dict[str, torch.Tensor] = {}

    # -- the Trainer's hooks ------------------------------------------------------------
    def on_fit_start(self, trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        try:
            self.writer = SummaryWriter(log_dir=str(self.log_dir))
        except OSError as exc:
            trainer.emit("log", level="warning", message=f"TensorBoard logs are off: {exc}")
            return
        self._telemetry = next((cb for cb in trainer.callbacks.callbacks
                                if isinstance(cb, Telemetry) and cb.sample), None)
        if self.every is None:
            self.every = max(1, trainer.steps_per_epoch // SAMPLES_PER_EPOCH)
        self._next = trainer.step + min(self.every, 5)
        self._write_hparams_config(trainer)

    def on_epoch_start(self, trainer, epoch: int) -> None:
        if self.writer is not None and self._due(trainer.step + 1):
            self._arm(trainer)

    def on_batch_end(self, trainer, batch: int, loss) -> None:
        if self.writer is None:
            return
        if self._handles:
            self._finish(trainer)
        if self._due(trainer.step + 1) and batch + 1 < len(trainer.train_source):
            self._arm(trainer)

    def on_event(self, trainer, event: dict) -> None:
        writer = self.writer
        if writer is None:
            return
        kind = event["event"]
        if kind == "step":
            for name in ("loss", "lr", "samples_per_s"):
                _scalar(writer, f"step/{name}", event.get(name), event["step"])
        elif kind == "epoch":
            for name, value in event.items():
                if name not in EPOCH_SKIP:
                    _scalar(writer, f"epoch/{name}", value, event["step"])
            writer.flush()
        elif kind == "validation":
            for name, value in event.items():
                if name not in VALIDATION_SKIP:
                    _scalar(writer, f"validation/{name}", value, event["step"])
        elif kind == "confusion" and event.get("matrix"):
            writer.add_image("confusion_matrix", confusion_image(event["matrix"], event.get("classes")),
                             trainer.step, dataformats="HWC")

    def on_fit_end(self, trainer, result) -> None:
        self._disarm()
        if self.writer is None:
            return
        from torch.utils.tensorboard.summary import hparams

        status = {"completed": 1, "stopped": 2, "failed": 3}.get(result.state, 0)  # SessionEndInfo status
        _exp, _ssi, sei = hparams({}, {})
        sei.value[0].metadata.plugin_data.content = _end_status(sei, status)
        self.writer.file_writer.add_summary(sei)
        self.writer.close()
        self.writer = None

    # -- hparams --------------------------------------------------------------------------------
    def _write_hparams_config(self, trainer) -> None:
        from torch.utils.tensorboard.summary import hparams

        metrics = {f"epoch/{name}": 0.0 for name in available_metrics(trainer.objective, trainer.bundle, trainer.config)}
        exp, ssi, _sei = hparams(hparams_of(trainer.config, self.graph_figures), metrics)
        self.writer.file_writer.add_summary(exp)
        self.writer.file_writer.add_summary(ssi)

    # -- histograms ---------------------------------------------------------------------------
    def _due(self, step: int) -> bool:
        if self._telemetry is not None:
            return step == self._telemetry.next_step
        return step >= self._next

    def _arm(self, trainer) -> None:
        self._activations = {}
        for node_id, module in trainer.model.named_children():
            self._handles.append(module.register_forward_hook(self._record(node_id)))

    def _disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _record(self, node_id: str):
        def hook(module, args, output) -> None:
            if node_id in self._activations or not module.training:
                return
            tensor = first_tensor(output)
            if tensor is not None and tensor.is_floating_point() and tensor.numel():
                self._activations[node_id] = _thin(tensor.detach().reshape(-1))

        return hook

    def _finish(self, trainer) -> None:
        """After the sampled step's backward (gradients not yet cleared): write its histograms."""
        self._disarm()
        step = trainer.step
        for node_id, values in self._activations.items():
            _histogram(self.writer, f"activations/{node_id}", values, step)
        self._activations = {}
        for node_id, module in trainer.model.named_children():
            grads = [p.grad.detach().reshape(-1) for p in module.parameters()
                     if p.grad is not None and not p.grad.is_sparse]
            if grads:
                _histogram(self.writer, f"gradients/{node_id}", _thin(torch.cat(grads)), step)
        self._next = step + self.every


def graph_figures(graph) -> dict:
    """The graph's size for the hparams table: layers, parameters, FLOPs per sample."""
    from workbench.core.summary import summarize

    summary = summarize(graph)
    figures = {"layers": sum(1 for n in graph.nodes.values() if n.type not in ("Input", "Output")),
               "parameters": summary.total_params, "trainable": summary.trainable_params}
    if summary.total_flops is not None:
        figures["flops"] = summary.total_flops
    return figures


def hparams_of(cfg, graph_figures: dict) -> dict:
    """The training settings and graph figures as flat hparams values (numbers, strings, booleans)."""
    values: dict = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "loss": cfg.loss["type"],
                    "scheduler": cfg.scheduler["type"] if cfg.scheduler else "none", "seed": cfg.seed,
                    "warmup_steps": cfg.warmup_steps, "l1": cfg.l1, "accumulate_steps": cfg.accumulate_steps,
                    "amp": str(cfg.amp), "device": cfg.device}
    for key, value in cfg.optimizer.items():
        values["optimizer" if key == "type" else f"optimizer.{key}"] = value
    if cfg.grad_clip:
        values["grad_clip"] = cfg.grad_clip["max_norm"]
    if cfg.max_steps is not None:
        values["max_steps"] = cfg.max_steps
    values.update({f"graph.{k}": v for k, v in graph_figures.items()})
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or isinstance(value, (int, float, str)):
            out[key] = value
        elif value is not None:
            out[key] = str(value)
    return out


def _end_status(sei, status: int) -> bytes:
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    data = HParamsPluginData.FromString(sei.value[0].metadata.plugin_data.content)
    data.session_end_info.status = status
    return data.SerializeToString()


AXIS_TITLE = 14  # px: the band above and left of the matrix for "predicted" and "true"


def confusion_image(matrix: list, classes=None, cell: int = 24) -> np.ndarray:
    """The confusion matrix (rows true, columns predicted, so titled) as an RGB image
    [H, W, 3]: each row shaded by its share of the row's samples, its count written in the
    cell when it fits."""
    from PIL import Image, ImageDraw

    counts = np.asarray(matrix, dtype=np.float64)
    c = counts.shape[0]
    cell = max(4, min(cell, 960 // max(c, 1)))
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    label = 0 if cell < 16 else 5 * 7 + 8  # room for class names on the left and on top
    origin = AXIS_TITLE + label
    size = origin + c * cell
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    names = [str(n) for n in classes] if classes and len(classes) == c else [str(i) for i in range(c)]
    for i in range(c):
        for j in range(c):
            shade = int(255 - 200 * share[i, j])
            x, y = origin + j * cell, origin + i * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(shade, shade, 255), outline=(220, 220, 220))
            text = str(int(counts[i, j]))
            if cell >= 16 and len(text) * 6 < cell:
                draw.text((x + 2, y + cell // 2 - 5), text, fill="black" if share[i, j] < 0.6 else "white")
        if label:
            draw.text((AXIS_TITLE + 2, origin + i * cell + cell // 2 - 5), names[i][:6], fill="black")
            draw.text((origin + i * cell + 2, AXIS_TITLE + 2 + (i % 2) * 14), names[i][:4], fill="black")
    middle = origin + c * cell // 2
    draw.text((max(origin, middle - 27), 1), "predicted", fill="black")
    true = Image.new("RGB", (4 * 6 + 4, AXIS_TITLE - 2), "white")
    ImageDraw.Draw(true).text((2, 0), "true", fill="black")
    true = true.rotate(90, expand=True)
    image.paste(true, (1, max(origin, middle - true.height // 2)))
    return np.asarray(image, dtype=np.uint8)


def _scalar(writer, tag: str, value, step: int) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        writer.add_scalar(tag, float(value), step, new_style=False)


def _thin(values: torch.Tensor) -> torch.Tensor:
    """At most HISTOGRAM_VALUES of `values`, an even stride through them, as float32 on the CPU."""
    stride = max(1, math.ceil(values.numel() / HISTOGRAM_VALUES))
    return values[::stride].float().cpu()


def _histogram(writer, tag: str, values: torch.Tensor, step: int) -> None:
    values = values[torch.isfinite(values)]
    if values.numel():
        writer.add_histogram(tag, values.numpy(), step)
