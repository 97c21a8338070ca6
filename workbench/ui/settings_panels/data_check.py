"""The Data dock's check, off the UI thread: load the data, check it against the graph and
read a preview. Loading takes ~60 ms for digits and seconds for a folder of files, which
the UI thread must not wait for.

`DataChecker.submit(job)` runs one `CheckJob` at a time on its own one-thread pool. A
request made while one runs waits for it and then runs once (however many came in
between), and only the latest request's result is delivered (`result`): a superseded
check's result is dropped. The job holds copies of what it needs (the data section, the
graph's inputs and output), so the project may change while it runs. The latest loaded
bundle is kept: a check for the same data section and graph inputs (an edit elsewhere in
the graph) only re-runs the compatibility check; `reload` reads the files again.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workbench.ui.settings_panels.preview import PreviewData, collect_preview

__all__ = ["CheckJob", "CheckResult", "DataChecker", "run_check", "sized_graph_copy"]


@dataclass
class CheckJob:
    data: dict  # the project's data section (a copy)
    inputs: dict  # the graph's Input nodes: id -> TensorInfo
    output_info: object  # the graph's first output (TensorInfo)
    loss: str
    seed: int
    base_dir: Path
    output_name: str  # how messages about the output name the node: "Output 'out': "
    reload: bool = False  # read the data again even when nothing it depends on changed
    graph: object = None  # a copy of the graph when its sizes are checked against the vocabulary
    output_id: str | None = None  # the first Output node, which the output's problems are pinned to

    @property
    def key(self) -> str:
        """What the loaded bundle depends on (not the output: checking that is cheap)."""
        return bundle_key(self.data, self.inputs, self.seed, self.base_dir)


def bundle_key(data: dict, inputs: dict, seed: int, base_dir: Path) -> str:
    """Everything `load_data` reads: two equal keys load the same bundle."""
    shapes = [(name, info.shape, info.dtype) for name, info in inputs.items()]
    return json.dumps([data, shapes, seed, str(base_dir)], sort_keys=True, default=str)


@dataclass
class CheckResult:
    messages: list[str] = field(default_factory=list)
    preview: PreviewData | None = None
    bundle: object = None  # the DataBundle that was loaded (None when loading failed)
    key: str = ""  # the CheckJob.key it was loaded for
    paths: list[str] = field(default_factory=list)  # "field: absolute path" for each path the data named
    diagnostics: list = field(default_factory=list)  # the mismatches as Diagnostics on their Input/Output nodes


def run_check(job: CheckJob, loaded: "CheckResult | None" = None) -> CheckResult:
    """Load the data and check it against the graph (no Qt; runs on the check thread);
    `loaded`, the previous result for the same `job.key`, saves the load. A check never
    downloads: a source's "download" flag is turned off for it."""
    from workbench.data import DataError, check_compatibility, describe_paths, load_data

    if loaded is not None and loaded.bundle is not None:
        bundle, preview = loaded.bundle, loaded.preview
    else:
        data = copy.deepcopy(job.data)
        if isinstance(data.get("params"), dict) and data["params"].get("download"):
            data["params"]["download"] = False
        try:
            bundle = load_data(data, job.inputs, job.seed, job.base_dir)
        except DataError as exc:
            return CheckResult([str(exc)])
        except OSError as exc:
            return CheckResult([f"cannot read the data: {exc}"])
        try:
            preview = collect_preview(bundle)
        except Exception as exc:  # a preview must never break the check
            preview = PreviewData(f"no preview: {exc}", "table")
    from workbench.data.checks import compatibility_diagnostics, vocabulary_diagnostics

    first = check_compatibility(bundle, job.inputs, None, job.loss)
    everything = check_compatibility(bundle, job.inputs, job.output_info, job.loss)
    messages = first + [job.output_name + m for m in everything[len(first):]]
    diagnostics = compatibility_diagnostics(bundle, job.inputs, job.output_info, job.loss, job.output_id)
    if job.graph is not None:
        vocabulary = vocabulary_diagnostics(bundle, job.graph)
        messages = [f"{d.node_id}: {d.text}" for d in vocabulary] + messages
        diagnostics = vocabulary + diagnostics
    return CheckResult(messages, preview, bundle, job.key, describe_paths(bundle), diagnostics)


def sized_graph_copy(graph):
    """A copy of `graph` for the check thread when it has an Embedding or a size taken from
    the data (what `vocabulary_problems` checks), else None: copying costs the UI thread."""
    from workbench.core.from_data import data_params

    return graph.copy() if graph.nodes_of_type("Embedding") or data_params(graph) else None


class _Run(QRunnable):
    def __init__(self, checker: "DataChecker", generation: int, job: CheckJob, loaded: CheckResult | None) -> None:
        super().__init__()
        self.checker, self.generation, self.job, self.loaded = checker, generation, job, loaded

    def run(self) -> None:
        try:
            result = run_check(self.job, self.loaded)
        except Exception as exc:  # whatever happens, the checker hears back
            result = CheckResult([f"the data check failed: {type(exc).__name__}: {exc}"])
        try:
            self.checker._done.emit(self.generation, result)  # queued to the UI thread
        except RuntimeError:  # the dock was closed meanwhile: nobody is waiting for it
            pass


class DataChecker(QObject):
    result = Signal(object)  # the CheckResult of the latest request
    _done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.generation = 0
        self.running = False
        self._waiting: CheckJob | None = None
        self.loaded: CheckResult | None = None  # the latest result with a bundle
        self._done.connect(self._finished)

    @property
    def busy(self) -> bool:
        return self.running or self._waiting is not None

    def submit(self, job: CheckJob) -> None:
        self.generation += 1
        if self.running:
            job.reload = job.reload or (self._waiting is not None and self._waiting.reload)
            self._waiting = job
        else:
            self._start(job)

    def cancel(self) -> None:
        """Drop whatever is running or waiting (its result will not be delivered)."""
        self.generation += 1
        self._waiting = None

    def wait(self, timeout_ms: int = 30000) -> bool:
        return self.pool.waitForDone(timeout_ms)

    def bundle_for(self, key: str):
        """The bundle the latest check loaded, when it was loaded for `key` (else None)."""
        return self.loaded.bundle if self.loaded is not None and self.loaded.key == key else None

    def _start(self, job: CheckJob) -> None:
        self.running = True
        key = job.key
        loaded = self.loaded if self.loaded is not None and self.loaded.key == key and not job.reload else None
        self.pool.start(_Run(self, self.generation, job, loaded))

    def _finished(self, generation: int, result: CheckResult) -> None:
        self.running = False
        if result.bundle is not None:
            self.loaded = result
        if self._waiting is not None:
            job, self._waiting = self._waiting, None
            self._start(job)
        elif generation == self.generation:
            self.result.emit(result)
