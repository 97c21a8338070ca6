"""Importing a heavy library (torchvision, torchaudio) on first use, from any thread.

Two threads importing torchvision at the same moment (a data check, the evaluation
samples and a training run all load data on their own threads) can meet its circular
imports half done: "cannot import name 'InterpolationMode' from partially initialized
module". Every lazy import of such a library goes through `load`, which takes them one
at a time.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

__all__ = ["load"]

_lock = threading.RLock()


def load(name: str) -> ModuleType:
    with _lock:
        return importlib.import_module(name)
