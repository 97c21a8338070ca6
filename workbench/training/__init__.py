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

import importlib

# Loaded on first use (PEP 562), so the torch-free modules (callbacks, control, events,
# event_channel, console, launch) import without torch: the GUI uses them on its UI thread.
_HOME = {
    "Callback": "callbacks", "EarlyStopping": "callbacks", "ConfigError": "config", "TrainingConfig": "config",
    "parse_config": "config", "RunControl": "control", "cpu_threads": "device", "EventLog": "events",
    "EventQueue": "events", "Session": "session", "SetupError": "session", "prepare": "session",
    "FitResult": "trainer", "Trainer": "trainer",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"workbench.training.{_HOME[name]}"), name)
    raise AttributeError(f"module 'workbench.training' has no attribute {name!r}")


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
