"""The training loop: epochs of optimizer steps, validation, checkpoints, events.

The Trainer knows nothing of files it was not given, of printing or of Qt: it reports
through callbacks and the event stream (events.py), stops or pauses when its RunControl
says so (checked after every batch), and never raises out of `fit`: whatever goes wrong
ends the run in state "failed" with one clear message (failures.py) and keeps the last
checkpoint. The hot loop does only what a hand-written loop does, plus appending the
detached loss to a list and reading one flag.

Steps are optimizer steps: with `accumulate_steps` k, k batches (micro-batches) make one
step. `max_steps` ends the run at a step, mid-epoch if need be, as an epoch end would
(validation, checkpoint, final.pt); `eval_every` validates every N steps as well, each
validation a "validation" event that may write best.pt and a mid-epoch checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn

from workbench.data.bundle import DataBundle
from workbench.training import checkpoint as ckpt
from workbench.training import distributed
from workbench.training.batches import BatchSource
from workbench.training.callbacks import CallbackList, EarlyStopping
from workbench.training.checkpointing import enable_activation_checkpointing
from workbench.training.config import TrainingConfig
from workbench.training.control import RunControl
from workbench.training.device import DevicePlan, plan_device
from workbench.training.events import event
from workbench.training.failures import TrainingFailure, explain
from workbench.training.losses import Objective
from workbench.training.metrics import MetricAccumulator, available_metrics, check_metrics, perplexity
from workbench.training.optim import Warmup, build_optimizer, build_scheduler, current_lr
from workbench.training.runs import RunFolder
from workbench.training.steplog import StepLog

__all__ = ["Trainer", "FitResult"]


@dataclass
class FitResult:
    state: str  # completed | stopped | failed
    message: str = ""
    epochs_done: int = 0
    step: int = 0
    metrics: dict = field(default_factory=dict)  # the last epoch's figures
    best: dict | None = None
    run_dir: Path | None = None
    failure: TrainingFailure | None = None
    saved: tuple[int, int] | None = None  # a failed run: (epoch, batch) its checkpoint.pt holds, read back


class Trainer:
    def __init__(self, model: nn.Module, bundle: DataBundle, config: TrainingConfig, objective: Objective, *,
                 callbacks=(), run: RunFolder | None = None, control: RunControl | None = None,
                 dist: distributed.DistInfo = distributed.SINGLE, resume: dict | None = None,
                 project_name: str = "model", num_threads: int | None = None) -> None:
        self.model = model
        self.bundle = bundle
        self.config = config
        self.objective = objective
        self.run = run
        self.control = control or RunControl()
        self.dist = dist
        self.resume = resume
        self.project_name = project_name
        self.num_threads = num_threads
        self.early_stopping = EarlyStopping(**config.early_stopping) if config.early_stopping else None
        builtin = [cb for cb in (run, self.early_stopping) if cb is not None]
        self.callbacks = CallbackList([*builtin, *callbacks])
        self._event_hooks = self.callbacks.hooks("on_event")
        self.epoch = 0  # epochs completed
        self.step = 0  # optimizer steps taken
        self.state = "idle"
        self.should_stop = False
        self.best: dict | None = None
        self.last_metrics: dict = {}
        self.plan: DevicePlan | None = None
        self._stop_message = ""
        self._stop_completed = False
        self._skip = 0  # batches of the next epoch already done (resumed mid-epoch)
        self._epoch_seconds: list[float] = []
        self._saved_at: tuple[int, int] | None = None
        self.last_inputs: tuple | None = None

    # -- the public surface -------------------------------------------------------------

    def emit(self, kind: str, **fields) -> None:
        ev = event(kind, **fields)
        for hook in self._event_hooks:
            hook(self, ev)

    def request_stop(self, message: str = "", completed: bool = False) -> None:
        """End the run after this epoch (callbacks call this; the GUI uses `control.stop()`)."""
        self.should_stop = True
        self._stop_message = message
        self._stop_completed = completed

    def fit(self) -> FitResult:
        result = FitResult(state="failed", run_dir=self.run.path if self.run else None)
        try:
            self._set_state("starting")  # inside: even writing the first event may fail (a full disk)
            self._setup()
            self.callbacks.call("on_fit_start", self)
            self._emit_fit_start()
            self._set_state("running")
            result.state, result.message = self._epochs()
        except BaseException as exc:  # noqa: B036 - every way out must end the run cleanly
            if isinstance(exc, KeyboardInterrupt):
                result.state, result.message = "stopped", "interrupted"
            else:
                result.saved = self._saved_on_disk()
                failure = explain(exc, self.model, self.config.batch_size, self.plan.device if self.plan else None,
                                  saved=result.saved if self.run is not None else False)
                if self.run is not None and failure.details:
                    self.run.write_error(failure.details)
                try:  # a callback may refine the failure (telemetry names the node where NaN began)
                    self.callbacks.call("on_exception", self, failure)
                except Exception:  # noqa: BLE001 - the first failure is the one to report
                    pass
                result.failure, result.message = failure, failure.message
        result.epochs_done, result.step = self.epoch, self.step
        result.metrics, result.best = self.last_metrics, self.best
        try:
            if result.state in ("completed", "stopped") and self.run is not None:
                self.run.write_weights("final.pt", ckpt.weights_state(self))
            elif result.state in ("completed", "stopped") and distributed.is_sharded(self.model):
                ckpt.weights_state(self)  # the gather rank 0 makes for final.pt needs every rank
            self.callbacks.call("on_fit_end", self, result)
        except BaseException as exc:  # noqa: B036
            result.saved = self._saved_on_disk()
            failure = explain(exc, self.model, saved=result.saved if self.run is not None else False)
            result.state, result.failure, result.message = "failed", failure, failure.message
        try:
            node = result.failure.node_id if result.failure is not None else None
            self._set_state(result.state, result.message, **({"node": node} if node else {}))
        except Exception:  # noqa: BLE001 - the run is over; a listener failing now changes nothing
            pass
        self._release()
        return result

    # -- setup -------------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg, dist = self.config, self.dist
        check_metrics(cfg, available_metrics(self.objective, self.bundle, cfg))
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        self.plan = plan = plan_device(cfg.device, cfg.amp, dist.local_rank if dist.enabled else None)
        for note in plan.notes:
            self.emit("log", level="warning", message=note)
        distributed.init(dist, plan.device)
        self.model.to(plan.device)
        self.objective.to(plan.device)
        if cfg.activation_checkpointing and not enable_activation_checkpointing(self.model):
            self.emit("log", level="warning", message="training.activation_checkpointing: this model has no "
                      "Transformer or GPT block to checkpoint; it trains as usual")
        self.multi_output = len(getattr(self.model, "output_names", ())) > 1
        self.net = distributed.wrap(self.model, dist, plan.device, find_unused=self.multi_output, strategy=cfg.strategy)
        if cfg.compile:
            self.net = torch.compile(self.net, backend=cfg.compile)
        dtype = self.objective.target_dtype
        b = self.bundle
        self.train_source = BatchSource("training", b.train, b.train_tensors, cfg.batch_size, plan, dtype, True,
                                        cfg.seed, dist, cfg.num_workers)
        self.val_source = None
        if b.val is not None:
            self.val_source = BatchSource("validation", b.val, b.val_tensors, cfg.batch_size, plan, dtype, False,
                                          cfg.seed, dist, cfg.num_workers)
        self.steps_per_epoch = -(-len(self.train_source) // cfg.accumulate_steps)
        self.eval_every = cfg.eval_every if self.val_source is not None else None
        if cfg.eval_every and self.val_source is None:
            self.emit("log", level="warning", message="training.eval_every: this data has no validation set; "
                      "nothing to validate")
        self.optimizer = build_optimizer(self.model, cfg)
        self.scheduler, self.per_batch_scheduler = build_scheduler(self.optimizer, cfg, self.steps_per_epoch)
        self.scaler = plan.scaler()
        self.warmup = Warmup(self.optimizer, cfg.warmup_steps) if cfg.warmup_steps else None
        metric, mode = cfg.monitored(b.val is not None)
        self.best = {"metric": metric, "mode": mode, "value": None, "epoch": None, "step": None}
        self.steplog = StepLog(dist.world_size)
        if self.resume is not None:
            ckpt.restore_training_state(self, self.resume)

    def _emit_fit_start(self) -> None:
        b = self.bundle
        self.emit(
            "fit_start", project=self.project_name, task=b.task, classes=b.classes, epochs=self.config.epochs,
            start_epoch=self.epoch, start_batch=self._skip, start_step=self.step, steps_per_epoch=self.steps_per_epoch,
            batches_per_epoch=len(self.train_source), accumulate_steps=self.config.accumulate_steps,
            max_steps=self.config.max_steps, eval_every=self.eval_every,
            objective="causal_lm" if self.objective.causal_lm else self.objective.name,
            batch_size=self.config.batch_size, train_samples=self.train_source.size,
            val_samples=self.val_source.size if self.val_source else 0, device=str(self.plan.device),
            amp=self.plan.amp_name, world_size=self.dist.world_size,
            parameters=sum(p.numel() for p in self.model.parameters()),
            run_dir=str(self.run.path) if self.run else None,
        )
        if self.resume is not None:
            self._set_state("resumed", f"resumed after epoch {self.epoch}"
                            + (f", batch {self._skip}" if self._skip else ""))

    # -- the loop ----------------------------------------------------------------------------

    def _epochs(self) -> tuple[str, str]:
        cfg = self.config
        for epoch in range(self.epoch + 1, cfg.epochs + 1):
            if self.control.pending and not self.dist.enabled and self._obey_control(epoch, 0, 0):
                return self._stopped(epoch, 0)
            self.callbacks.call("on_epoch_start", self, epoch)
            started = time.perf_counter()
            skip, self._skip = self._skip, 0
            if skip:
                self.steplog.start_epoch(*self._resume_partial)
            else:
                self.steplog.start_epoch()
            done = self._train_epoch(epoch, skip)
            spent = self._budget_spent()
            if done < len(self.train_source) and not spent:
                return self._stopped(epoch, done)
            metrics = self._end_epoch(epoch, time.perf_counter() - started)
            self.epoch = epoch
            self.callbacks.call("on_epoch_end", self, metrics)
            self.emit("epoch", **metrics)
            if self._confusion is not None:
                self.emit("confusion", epoch=epoch, classes=self.bundle.classes, matrix=self._confusion)
            if done < len(self.train_source):  # max_steps mid-epoch: a resume continues from this batch
                self._save(epoch - 1, improved=metrics["improved"], batch=done)
            else:
                self._save(epoch, improved=metrics["improved"])
            if spent:
                return "completed", self._stop_message or f"reached max_steps ({cfg.max_steps} steps)"
            stop = self.should_stop or (self.dist.enabled and distributed.any_rank(
                self.control.stop_requested, self.plan.device))
            if stop and epoch < cfg.epochs:
                if self._stop_completed:
                    return "completed", self._stop_message
                return self._stopped(epoch + 1, 0)
        return "completed", self._stop_message

    def _train_epoch(self, epoch: int, skip: int) -> int:
        """Train one epoch from batch `skip`; returns how many batches are done (fewer: stopped,
        or max_steps reached). Control and the step budget are obeyed between optimizer steps."""
        cfg = self.config
        net, objective, optimizer, scaler = self.net, self.objective, self.optimizer, self.scaler
        autocast = self.plan.autocast
        use_amp = self.plan.amp_dtype is not None
        use_scaler = scaler.is_enabled()
        scheduler = self.scheduler if self.per_batch_scheduler else None
        clip = cfg.grad_clip
        l1 = cfg.l1
        params = [p for p in self.model.parameters() if p.requires_grad]
        l1_params = [p for p in params if p.dim() > 1]
        warmup = self.warmup
        steplog = self.steplog
        log_every = cfg.log_every_n_steps
        batch_hooks = self.callbacks.hooks("on_batch_end")
        control = self.control
        check_control = not self.dist.enabled
        multi = self.multi_output
        total = len(self.train_source)
        k = cfg.accumulate_steps
        max_steps = cfg.max_steps
        eval_every = self.eval_every
        # with DDP, gradients are all-reduced on the last micro-batch of a step only
        defer_sync = getattr(net, "no_sync", None) if k > 1 and self.dist.enabled else None
        group_loss, group_n = 0.0, 0
        self._epoch_started = time.perf_counter()
        self._epoch_batch0 = skip
        self.model.train()
        batch = skip
        for inputs, target, n in self.train_source.batches(epoch, skip):
            self.last_inputs = inputs  # a reference, for diagnosing a failure (telemetry)
            place = batch % k
            last = place == k - 1 or batch + 1 == total
            if place == 0:
                optimizer.zero_grad(set_to_none=True)
            with defer_sync() if defer_sync is not None and not last else contextlib.nullcontext():
                if use_amp:
                    with autocast():
                        output = net(*inputs)
                        loss = objective(output[0] if multi else output, target)
                else:
                    output = net(*inputs)
                    loss = objective(output[0] if multi else output, target)
                total_loss = loss + l1 * sum(p.abs().sum() for p in l1_params) if l1 else loss
                if k > 1:  # the mean over the step's micro-batches (the last step of an epoch may have fewer)
                    total_loss = total_loss / min(k, total - (batch - place))
                if use_scaler:
                    scaler.scale(total_loss).backward()
                else:
                    total_loss.backward()
            batch += 1
            if k > 1:
                group_loss, group_n = group_loss + loss.detach() * n, group_n + n
                if not last:
                    continue
                step_loss, step_n = group_loss / group_n, group_n
                group_loss, group_n = 0.0, 0
            else:
                step_loss, step_n = loss.detach(), n
            if use_scaler:
                if clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(params, clip["max_norm"], clip["norm_type"])
                do_step = partial(scaler.step, optimizer)
            else:
                if clip:
                    nn.utils.clip_grad_norm_(params, clip["max_norm"], clip["norm_type"])
                do_step = optimizer.step
            if warmup is not None and warmup.active(self.step):
                warmup.step(self.step, do_step)
            else:
                do_step()
            if use_scaler:
                scaler.update()
            if scheduler is not None:
                scheduler.step()
            self.step += 1
            steplog.add(step_loss, step_n)
            if self.step % log_every == 0:
                self._log_step(epoch, batch, total)
            for hook in batch_hooks:
                hook(self, batch - 1, step_loss)
            if max_steps is not None and self.step >= max_steps:
                break
            if eval_every is not None and self.step % eval_every == 0 and batch < total:
                self._validate_at_step(epoch, batch, total)
            if check_control and control.pending and batch < total and self._obey_control(epoch, batch, total):
                break
        self._log_step(epoch, batch, total)
        return batch

    def _budget_spent(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def _log_step(self, epoch: int, batch: int, total: int) -> None:
        window = self.steplog.flush(self.step, epoch, batch)
        if window is None:
            return
        elapsed = time.perf_counter() - self._epoch_started
        done = batch - self._epoch_batch0
        eta = elapsed / done * (total - batch) if done else None
        self.emit("step", step=self.step, epoch=epoch, batch=batch, batches=total, loss=window["loss"],
                  lr=current_lr(self.optimizer, self.warmup, self.step), samples_per_s=window["samples_per_s"],
                  eta_s=eta, run_eta_s=self._run_eta(epoch, total, eta, elapsed / done if done else None))

    def _run_eta(self, epoch: int, batches: int, epoch_eta: float | None, per_batch: float | None) -> float | None:
        """Seconds to the end of the run: the rest of this epoch, then each remaining epoch at
        the mean duration of the finished ones (validation included), or at this epoch's
        pace before one has finished; with max_steps, the steps left at this pace."""
        if epoch_eta is None or per_batch is None:
            return None
        if self.config.max_steps is not None:
            return per_batch * self.config.accumulate_steps * max(0, self.config.max_steps - self.step)
        seconds = self._epoch_seconds
        per_epoch = sum(seconds) / len(seconds) if seconds else per_batch * batches
        return epoch_eta + (self.config.epochs - epoch) * per_epoch

    def _obey_control(self, epoch: int, batch: int, total: int) -> bool:
        """Pause or stop between batches; True when the run must stop."""
        control = self.control
        if control.paused and not control.stop_requested:
            self._log_step(epoch, batch, total)
            where = f"epoch {epoch}, batch {batch}" if batch else f"the start of epoch {epoch}"
            self._set_state("paused", f"paused at {where}")
            paused_at = time.perf_counter()
            while not control.wait_while_paused(0.5):
                pass
            if batch:
                self._epoch_started += time.perf_counter() - paused_at  # the pause is not training time
            if not control.stop_requested:
                self._set_state("running")
        return control.stop_requested

    def _stopped(self, epoch: int, batch: int) -> tuple[str, str]:
        """Save where we are so the run can resume exactly, then end it."""
        where = f"epoch {epoch}, batch {batch}" if batch else f"epoch {epoch - 1}"
        self._save(epoch - 1, improved=False, batch=batch)
        message = self._stop_message or f"stopped by {self.control.stopped_by} after {where}"
        return "stopped", message

    # -- epoch end ---------------------------------------------------------------------------

    def _end_epoch(self, epoch: int, seconds: float) -> dict:
        cfg = self.config
        lr = current_lr(self.optimizer, self.warmup, self.step)
        train_loss = self.steplog.epoch_loss
        metrics: dict = {"epoch": epoch, "epochs": cfg.epochs, "step": self.step, "train_loss": train_loss}
        if self.objective.causal_lm:
            metrics["train_perplexity"] = perplexity(train_loss)
        val, confusion = self._validate()
        metrics.update(val)
        if val:
            self.callbacks.call("on_validation_end", self, val)
        if self.scheduler is not None and not self.per_batch_scheduler:
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(metrics[cfg.scheduler["metric"]])
            else:
                self.scheduler.step()
        self._epoch_seconds.append(seconds)
        samples = self.train_source.samples * self.dist.world_size
        steps_left = (cfg.epochs - epoch) * self.steps_per_epoch
        if cfg.max_steps is not None:
            steps_left = max(0, min(steps_left, cfg.max_steps - self.step))
        per_step = sum(self._epoch_seconds) / len(self._epoch_seconds) / max(self.steps_per_epoch, 1)
        metrics.update(lr=lr, seconds=seconds, samples_per_s=samples / max(seconds, 1e-9), eta_s=per_step * steps_left)
        metrics["monitor"] = self.best["metric"]
        metrics["improved"] = self._improved(epoch, metrics)
        if val and self.eval_every is not None:
            self.emit("validation", epoch=epoch, step=self.step, **val, monitor=self.best["metric"],
                      improved=metrics["improved"])
        self.last_metrics = metrics
        self._confusion = confusion
        return metrics

    def _validate_at_step(self, epoch: int, batch: int, total: int) -> None:
        """An `eval_every` validation mid-epoch: a "validation" event, best.pt when it improved,
        and a checkpoint a resume continues from exactly."""
        self._log_step(epoch, batch, total)  # the losses so far, counted in the checkpoint's partial epoch
        val, _confusion = self._validate()
        self.callbacks.call("on_validation_end", self, val)
        improved = self._improved(epoch, val)
        self.emit("validation", epoch=epoch, step=self.step, batch=batch, **val, monitor=self.best["metric"],
                  improved=improved)
        self._save(epoch - 1, improved=improved, batch=batch)
        self.steplog.restart_clock()  # samples/s counts training time only

    @torch.no_grad()
    def _validate(self) -> tuple[dict, list | None]:
        if self.val_source is None:
            return {}, None
        self.model.eval()
        acc = MetricAccumulator(self.objective, self.bundle.num_classes, self.config.top_k, self.plan.device)
        multi = self.multi_output
        batch_hooks = self.callbacks.hooks("on_validation_batch")
        batches, last = 0, None
        for inputs, target, _n in self.val_source.batches(0):
            with self.plan.autocast():
                output = self.model(*inputs)
                output = output[0] if multi else output
                loss = self.objective(output, target)
            acc.update(output, target, loss)
            for hook in batch_hooks:
                hook(self, inputs, output, target)
            batches, last = batches + 1, inputs
        distributed.even_out_forwards(self.model, batches, last, self.plan.device)
        if self.dist.enabled:
            acc.all_reduce(distributed.all_reduce_sum)
        self.model.train()
        return acc.compute(), acc.confusion_matrix()

    def _improved(self, epoch: int, metrics: dict) -> bool:
        best = self.best
        value = metrics.get(best["metric"])
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        old = best["value"]
        better = old is None or (value < old if best["mode"] == "min" else value > old)
        if better:
            best["value"], best["epoch"], best["step"] = value, epoch, self.step
        return better

    # -- checkpoints ---------------------------------------------------------------------------

    def _save(self, epoch_done: int, improved: bool, batch: int = 0) -> None:
        if self.run is None and self._saved_at != (epoch_done, batch) and distributed.is_sharded(self.model):
            ckpt.training_state(self, epoch_done, batch)  # FSDP: rank 0 gathers the full state with every rank
            if improved:
                ckpt.weights_state(self)
            self._saved_at = (epoch_done, batch)
        if self.run is None or self._saved_at == (epoch_done, batch):
            return
        path = self.run.write_checkpoint(ckpt.training_state(self, epoch_done, batch))
        if improved:
            self.run.write_weights("best.pt", ckpt.weights_state(self))
        self._saved_at = (epoch_done, batch)
        self.emit("checkpoint", epoch=epoch_done, batch=batch, path=str(path), best=improved)

    def _saved_on_disk(self) -> tuple[int, int] | None:
        """What checkpoint.pt really holds now (read back; a failed write may have left an
        older one, or none)."""
        return ckpt.saved_position(self.run.checkpoint_path) if self.run is not None else None

    # -- states ---------------------------------------------------------------------------------

    def _set_state(self, state: str, message: str = "", **extra) -> None:
        if state != "resumed":
            self.state = state
        self.emit("state", state=state, message=message, **extra)

    def _release(self) -> None:
        self.last_inputs = None
        for source in (getattr(self, "train_source", None), getattr(self, "val_source", None)):
            if source is not None:
                source.loader = None

