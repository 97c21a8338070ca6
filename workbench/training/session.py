"""From a project file to a finished run: what `workbench train` and the GUI both call.

`prepare()` does every check that can fail because of the user before anything is
written (settings, graph, data, data-vs-model fit, resume folder) and raises
`SetupError` with one clear message. `Session.fit()` then trains and always returns a
FitResult; failures during training are results, not exceptions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workbench.core.compile import CompileError, compile_graph
from workbench.core.graph import Graph
from workbench.core.project import Project
from workbench.training import checkpoint as ckpt
from workbench.training import distributed
from workbench.training.config import ConfigError, TrainingConfig, parse_config
from workbench.training.control import RunControl
from workbench.training.device import cpu_threads, resolve_device
from workbench.training.graph_io import SetupError, graph_io
from workbench.training.losses import Objective, ObjectiveError, choose_objective
from workbench.training.runs import RunFolder, new_run_dir
from workbench.training.metrics import available_metrics, check_metrics
from workbench.training.trainer import FitResult, Trainer

__all__ = ["SetupError", "Session", "prepare", "graph_io", "seed_everything"]


@dataclass
class Session:
    project: Project
    config: TrainingConfig
    trainer: Trainer
    run: RunFolder | None
    dist: distributed.DistInfo

    @property
    def run_dir(self) -> Path | None:
        return self.run.path if self.run else None

    def fit(self) -> FitResult:
        try:
            return self.trainer.fit()
        finally:
            if self.run is not None:
                self.run.close()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def prepare(project: Project, *, overrides: dict | None = None, runs_dir: Path | None = None,
            resume: Path | None = None, callbacks=(), control: RunControl | None = None,
            dist: distributed.DistInfo | None = None, num_threads: int | None = None,
            write_run: bool = True) -> Session:
    """Check everything, build the model and data, create (or reopen) the run folder."""
    from workbench.data import DataError, check_compatibility, load_data
    from workbench.data.checks import vocabulary_problems
    from workbench.data.facts import bundle_facts, project_graph
    from workbench.data.sources.corpus import resumed_data
    from workbench.data.paths import data_base_dir
    from workbench.data.preprocess import preprocess_record

    dist = dist or distributed.detect()
    try:
        cfg = parse_config(project.training, overrides)
    except ConfigError as exc:
        raise SetupError(str(exc)) from None
    try:
        device = resolve_device(cfg.device, dist.local_rank if dist.enabled else None)
    except ConfigError as exc:
        raise SetupError(str(exc)) from None
    inputs, output_info = graph_io(project)
    check_memory(project.graph, cfg, device)  # before the data: sizes taken from it count later
    base_dir = data_base_dir(project.path)
    try:
        bundle = load_data(resumed_data(project.data, resume), inputs, cfg.seed, base_dir)
    except DataError as exc:
        raise SetupError(str(exc)) from None
    except OSError as exc:  # a file the data section names cannot be read
        raise SetupError(f"cannot read the data: {exc}") from None
    graph = project_graph(project, bundle_facts(bundle))  # the loaded data's own sizes decide
    if graph is not project.graph:
        inputs, output_info = graph_io(project, graph)
    problems = vocabulary_problems(bundle, graph) + check_compatibility(bundle, inputs, output_info, cfg.loss["type"])
    if problems:
        raise SetupError("; ".join(problems))
    try:
        objective: Objective = choose_objective(cfg, bundle, output_info)
        check_metrics(cfg, available_metrics(objective, bundle, cfg))
    except (ObjectiveError, ConfigError) as exc:
        raise SetupError(str(exc)) from None
    state = _read_resume(resume) if resume is not None else None
    if graph is not project.graph:
        check_memory(graph, cfg, device)
    seed_everything(cfg.seed)
    try:
        model = compile_graph(graph, project.name)
    except CompileError as exc:
        raise SetupError(str(exc)) from None
    if state is not None:
        _load_weights(model, state, resume)
        _check_resumable(state, cfg, resume)
    if dist.enabled:
        torch.manual_seed(cfg.seed + dist.rank)  # weights come from rank 0 (DDP broadcasts them)
        if num_threads is None:
            num_threads = cpu_threads(dist.local_world_size)
    run = None
    if write_run and dist.is_main:
        try:
            path = Path(resume) if resume is not None else new_run_dir(runs_dir, project)
            run = RunFolder(path, project, tokenizer_json=bundle.extra.get("tokenizer_json"),
                            preprocess=preprocess_record(bundle))
        except OSError as exc:
            raise SetupError(f"cannot create the run folder: {exc}") from None
    if run is not None and cfg.tensorboard:
        from workbench.training.tensorboard_log import TensorBoardLog, graph_figures

        callbacks = [*callbacks, TensorBoardLog(run.path, graph_figures=graph_figures(graph))]
    trainer = Trainer(model, bundle, cfg, objective, callbacks=callbacks, run=run, control=control, dist=dist,
                      resume=state, project_name=project.name, num_threads=num_threads)
    return Session(project, cfg, trainer, run, dist)


def check_memory(graph: Graph, cfg: TrainingConfig, device: torch.device) -> None:
    """Refuse, before anything is built, a model whose weights, gradients and optimizer state
    (or one batch's largest output) cannot fit in `device`'s free memory."""
    from workbench.core.size_budget import available_memory, optimizer_state_copies, refusal
    from workbench.core.summary import summarize

    problem = refusal(summarize(graph).memory, available_memory(device),
                      state_copies=optimizer_state_copies(cfg.optimizer), batch=cfg.batch_size, optimizer=cfg.optimizer)
    if problem is not None:
        node, why = problem
        raise SetupError(f"{node}: the model does not fit: {why}")


def _read_resume(path: Path) -> dict:
    path = Path(path)
    if not path.is_dir():
        raise SetupError(f"--resume {path}: no such run folder")
    try:
        return ckpt.load(path / "checkpoint.pt")
    except ckpt.CheckpointError as exc:
        raise SetupError(f"cannot resume: {exc}") from None


def _load_weights(model: torch.nn.Module, state: dict, path: Path) -> None:
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
        raise SetupError(f"cannot resume {path}: its checkpoint does not fit this project's graph ({detail})") from None


def _check_resumable(state: dict, cfg: TrainingConfig, path: Path) -> None:
    done = int(state.get("epoch", 0))
    if done >= cfg.epochs and not state.get("batch"):
        raise SetupError(f"cannot resume {path}: it has already trained {done} epoch(s) of {cfg.epochs}; "
                         f"pass --epochs with a larger number to train longer")
    if cfg.max_steps is not None and int(state.get("step", 0)) >= cfg.max_steps:
        raise SetupError(f"cannot resume {path}: it has already trained {int(state.get('step', 0))} step(s) of "
                         f"max_steps {cfg.max_steps}; pass --max-steps with a larger number to train longer")
    old = (state.get("config") or {}).get("epochs")
    if cfg.scheduler and cfg.scheduler["type"] == "OneCycleLR" and old not in (None, cfg.epochs):
        raise SetupError(f"cannot resume {path} with --epochs {cfg.epochs}: OneCycleLR was planned for {old} "
                         f"epochs and cannot be extended")
