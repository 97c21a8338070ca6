"""The Optuna side of a sweep: storage, study, sampler, pruner and distributions.

A study lives in an RDB storage (an SQLite file beside the project unless --storage
names another), so any number of worker processes, on this machine or others, join it
by URL and Optuna hands each of them different trials. Samplers and pruners are not kept
in the storage: every worker builds its own from the project's search section.
"""

from __future__ import annotations

import socket
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from workbench.processes import pid_alive
from workbench.search.space import Dimension, SearchSpec

__all__ = ["StudyError", "default_storage", "storage_of", "open_study", "distributions", "counted_trials",
           "fail_orphans", "REASON", "STOPPED", "HOST", "PID", "RUN_DIR"]

# Trial user attributes written by the runner
REASON, HOST, PID, RUN_DIR = "fail_reason", "host", "pid", "run_dir"
STOPPED = "stopped"
SQLITE_TIMEOUT_S = 60  # workers write the same file: wait for its lock instead of failing


class StudyError(Exception):
    """The storage cannot be opened or the study does not fit the search section."""


def default_storage(project_path: Path) -> str:
    """`sqlite:///<folder>/<stem>.sweep.db`, beside the project file."""
    path = Path(project_path).resolve()
    return f"sqlite:///{path.with_name(path.stem + '.sweep.db')}"


def storage_of(url: str) -> optuna.storages.BaseStorage:
    if not isinstance(url, str) or "://" not in url:
        raise StudyError(f"--storage must be a database URL such as sqlite:///sweep.db or postgresql://host/db, "
                         f"got {url!r}")
    kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy and drivers raise their own kinds
        raise StudyError(f"cannot open the study storage {url}: {_first_line(exc)}") from None


def open_study(spec: SearchSpec, storage: str | optuna.storages.BaseStorage, name: str,
               create: bool = True, worker: int = 0) -> optuna.Study:
    """The study `name` in `storage` with this worker's sampler and pruner (created when missing
    and `create`); refuses one that optimises the other way.

    A sampler seed (search.sampler.seed) is offset by the trials already in the study and by
    `worker` (this process's index among those the command started): with the bare seed, a
    resumed sweep or a second worker would sample the very same first values again."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = storage_of(storage) if isinstance(storage, str) else storage
    sampler, pruner = build_sampler(spec), build_pruner(spec)
    try:
        if create:
            study = optuna.create_study(storage=store, study_name=name, direction=spec.direction,
                                        sampler=sampler, pruner=pruner, load_if_exists=True)
        else:
            study = optuna.load_study(study_name=name, storage=store, sampler=sampler, pruner=pruner)
    except KeyError:
        raise StudyError(f"no study named {name!r} in {_url(storage)}") from None
    if spec.seed is not None:
        study.sampler = build_sampler(spec, offset=len(study.trials) + 7919 * worker)
    wanted = optuna.study.StudyDirection.MAXIMIZE if spec.direction == "maximize" else optuna.study.StudyDirection.MINIMIZE
    if study.direction != wanted:
        raise StudyError(f"study {name!r} in {_url(storage)} was created to {study.direction.name.lower()}; the "
                         f"search section says {spec.direction}: use another --study name")
    return study


def build_sampler(spec: SearchSpec, offset: int = 0) -> optuna.samplers.BaseSampler:
    seed = None if spec.seed is None else (spec.seed + offset) % 2**32
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return _AskTellGrid({k: grid_values(d) for k, d in spec.space.items()}, seed=seed)
    if spec.sampler == "cmaes":
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:  # Optuna's CMA-ES needs the cmaes package
            raise StudyError("the CMA-ES sampler needs the 'cmaes' package: pip install cmaes "
                             "(or choose tpe or random)")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


class _AskTellGrid(optuna.samplers.GridSampler):
    """GridSampler calls study.stop() once the grid is covered, which only works inside
    study.optimize; our workers ask and tell, and check `is_exhausted` before each trial."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


def build_pruner(spec: SearchSpec) -> optuna.pruners.BasePruner:
    options = spec.pruner_options
    if spec.pruner == "median":  # steps are epochs from 1; Optuna judges a step once it is >= n_warmup_steps
        return optuna.pruners.MedianPruner(n_startup_trials=options.get("n_startup_trials", 2),
                                           n_warmup_steps=options.get("warmup_epochs", 0) + 1)
    if spec.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=options.get("min_resource", "auto"),
                                                      reduction_factor=options.get("reduction_factor", 4))
    return optuna.pruners.NopPruner()


def grid_values(dim: Dimension) -> list:
    if dim.type == "categorical":
        return list(dim.choices)
    step = dim.step if dim.step is not None else 1
    count = int(round((dim.high - dim.low) / step)) + 1
    return [dim.low + i * step if dim.type == "int" else float(dim.low + i * step) for i in range(count)]


def distributions(spec: SearchSpec) -> dict:
    out = {}
    for key, d in spec.space.items():
        if d.type == "categorical":
            out[key] = CategoricalDistribution(list(d.choices))
        elif d.type == "int":
            out[key] = IntDistribution(d.low, d.high, log=d.log, step=d.step or 1)
        else:
            out[key] = FloatDistribution(d.low, d.high, log=d.log, step=d.step)
    return out


def counted_trials(study: optuna.Study) -> int:
    """Trials that use up the budget: finished ones and those running, less the ones a stop
    cut short (a resumed sweep runs those again)."""
    count = 0
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.FAIL and t.user_attrs.get(REASON) == STOPPED:
            continue
        if t.state != TrialState.WAITING:
            count += 1
    return count


def fail_orphans(study: optuna.Study) -> int:
    """Mark as stopped the RUNNING trials a process of this machine left behind when it was
    killed (its pid is gone); trials running elsewhere are left alone."""
    host, fixed = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get(PID)
        if t.user_attrs.get(HOST) == host and isinstance(pid, int) and not pid_alive(pid):
            study._storage.set_trial_user_attr(t._trial_id, REASON, STOPPED)  # no public setter for another's trial
            study.tell(t.number, state=TrialState.FAIL)
            fixed += 1
    return fixed


    return True


def _url(storage) -> str:
    return storage if isinstance(storage, str) else getattr(storage, "url", "the storage")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
