"""The Trainer and everything around a run (Qt-free).

How a front end drives a run (the CLI does exactly this; the GUI does both calls in a
worker thread, since loading data can take seconds, and drains the queue from a timer):

    from workbench.training import EventQueue, RunControl, prepare

    events, control = EventQueue(), RunControl()
    session = prepare(project, overrides={"epochs": 5}, runs_dir=path, callbacks=[events],
                      control=control, num_threads=cpu_threads(reserve=1))  # SetupError: tell the user
    result = session.fit()        # blocks; control.pause()/resume()/stop() from any thread
    events.drain()                # plain dicts: state, fit_start, step, epoch, confusion, checkpoint, log

Modules: config (the training settings), session (project -> run), trainer (the loop),
callbacks, events, control (stop/pause), optim, losses, metrics, device, batches,
steplog, checkpoint, runs (run folders), distributed (torchrun/DDP), failures, console
and commands (the CLI's side).
"""

from workbench.training.callbacks import Callback, EarlyStopping
from workbench.training.config import ConfigError, TrainingConfig, parse_config
from workbench.training.control import RunControl
from workbench.training.device import cpu_threads
from workbench.training.events import EventLog, EventQueue
from workbench.training.session import Session, SetupError, prepare
from workbench.training.trainer import FitResult, Trainer

__all__ = [
    "Callback",
    "ConfigError",
    "EarlyStopping",
    "EventLog",
    "EventQueue",
    "FitResult",
    "RunControl",
    "Session",
    "SetupError",
    "Trainer",
    "TrainingConfig",
    "cpu_threads",
    "parse_config",
    "prepare",
]
