"""The preprocessing a run trained with: its `preprocess.json`, or the same record rebuilt.

The record lives in the run folder (written by RunFolder at training time; see
workbench.data.preprocess). An older run has none: the data source is then loaded again
with the run's project and seed, which gives the same vocabulary, class names and
standardisation, and the caller is told so. The record is checked against the graph's
Inputs before use, so a record from another project is refused by name, never half-used.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.core.jsonfile import JsonFileError, load_json
from workbench.core.project import Project
from workbench.core.tensors import FLOAT, INT, TensorInfo
from workbench.data.preprocess import FORMAT, PREPROCESS_FILE, VERSION, preprocess_record

__all__ = ["PredictError", "Record", "open_record"]

MAX_RECORD_BYTES = 64 * 2**20
KINDS = ("image", "waveform", "text", "ids", "features", "tensor")


class PredictError(ValueError):
    """A user mistake in predicting: the message names the file and what is wrong."""


class Record:
    """A checked preprocess record: `inputs` (one entry per graph Input, in forward order)."""

    def __init__(self, doc: dict, where: str, note: str = "") -> None:
        self.doc = doc
        self.where = where  # the file it came from, or how it was rebuilt
        self.note = note  # said to the user when the record had to be rebuilt
        self.inputs: list[dict] = doc["inputs"]

    @property
    def task(self) -> str:
        return str(self.doc.get("task") or "")

    @property
    def modality(self) -> str:
        return str(self.doc.get("modality") or "")

    @property
    def classes(self) -> list[str] | None:
        return self.doc.get("classes")

    def index(self, key: str) -> int | None:
        value = self.doc.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_file(weights: str | os.PathLike | None) -> Path | None:
    if weights is None:
        return None
    where = Path(weights)
    return (where if where.is_dir() else where.parent) / PREPROCESS_FILE


def open_record(project: Project, weights, inputs: dict[str, TensorInfo]) -> Record:
    """The run's record (beside `weights`), else one rebuilt from the project's data."""
    path = record_file(weights)
    if path is not None and path.exists():
        try:
            doc = load_json(path, "preprocess record", MAX_RECORD_BYTES)
        except JsonFileError as exc:
            raise PredictError(str(exc)) from None
        return Record(check_record(doc, inputs, str(path)), str(path))
    doc = rebuild(project, inputs)
    looked = f"{path} is missing (an older run)" if path is not None else "no --weights run folder"
    note = f"{looked}: preprocessing rebuilt by loading the {doc.get('source') or 'data'} source with the run's project and seed"
    return Record(check_record(doc, inputs, "the rebuilt record"), "rebuilt from the data source", note)


def rebuild(project: Project, inputs: dict[str, TensorInfo]) -> dict:
    from workbench.data import DataError, load_data
    from workbench.data.paths import data_base_dir

    seed = project.training.get("seed", 0) if isinstance(project.training, dict) else 0
    try:
        bundle = load_data(project.data, inputs, int(seed), data_base_dir(project.path))
    except DataError as exc:
        raise PredictError(f"the run has no preprocess.json and its data cannot be loaded to rebuild it: {exc}") from None
    except OSError as exc:
        raise PredictError(f"the run has no preprocess.json and its data cannot be read: {exc}") from None
    return preprocess_record(bundle)


def check_record(doc, inputs: dict[str, TensorInfo], where: str) -> dict:
    """The record itself when it fits the graph's Inputs; PredictError naming `where` if not."""
    def bad(why: str):
        return PredictError(f"{where}: {why}")

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f"not a preprocess record (expected format {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise bad(f"version {doc.get('version')!r} is not one this program reads ({VERSION})")
    entries = doc.get("inputs")
    if not isinstance(entries, list) or len(entries) != len(inputs):
        count = len(entries) if isinstance(entries, list) else "no"
        raise bad(f"it describes {count} inputs; the project's graph has {len(inputs)} ({', '.join(inputs)})")
    for entry, (name, info) in zip(entries, inputs.items()):
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            raise bad(f"the entry for input {name!r} has no known kind ({', '.join(KINDS)})")
        if entry.get("kind") != "tensor" and entry.get("shape") != list(info.shape):
            raise bad(f"input {name!r} was shaped {entry.get('shape')} in training; the project's is {list(info.shape)}: "
                      "the run comes from another version of the graph")
        _check_entry(entry, name, info, bad)
    classes = doc.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise bad("its class names are not a list of strings")
    return doc


# kind -> (rank, dtype) of the graph Input it can feed
FITS = {"image": (3, FLOAT), "waveform": (2, FLOAT), "text": (1, INT), "ids": (1, INT), "features": (1, FLOAT)}


def _check_entry(entry: dict, name: str, info: TensorInfo, bad) -> None:
    kind = entry["kind"]
    if kind in FITS and (len(info.shape), info.dtype) != FITS[kind]:
        raise bad(f"input {name!r} is {info.dtype} {list(info.shape)}; the {kind!r} entry cannot feed it")
    for key in ("pad_index", "unk_index"):
        value = entry.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(f"input {name!r}: {key} must be a whole number >= 0")
    if kind == "text" and not isinstance(entry.get("lowercase", True), bool):
        raise bad(f"input {name!r}: lowercase must be true or false")

    def numbers(key: str, count: int) -> None:
        value = entry.get(key)
        if not (isinstance(value, list) and len(value) == count
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            raise bad(f"input {name!r}: {key} must be {count} numbers")

    if kind == "image":
        numbers("mean", entry["shape"][0])
        numbers("std", entry["shape"][0])
        if any(s == 0 for s in entry["std"]):
            raise bad(f"input {name!r}: a std of 0")
    elif kind == "waveform" and not (isinstance(entry.get("sample_rate"), int) and entry["sample_rate"] >= 1):
        raise bad(f"input {name!r}: sample_rate must be a positive whole number")
    elif kind == "text":
        vocab = entry.get("vocab")
        if not (isinstance(vocab, list) and len(vocab) >= 2 and all(isinstance(t, str) for t in vocab)):
            raise bad(f"input {name!r}: vocab must be a list of token strings")
        if entry.get("tokenizer") not in ("word", "char"):
            raise bad(f"input {name!r}: tokenizer must be \"word\" or \"char\"")
    elif kind == "features":
        columns = entry.get("columns")
        width = entry["shape"][0]
        if not (isinstance(columns, list) and len(columns) == width and all(isinstance(c, dict) for c in columns)):
            raise bad(f"input {name!r}: columns must describe its {width} features")
        for column in columns:
            ok = isinstance(column.get("name"), str) and all(
                isinstance(column.get(k), (int, float)) and not isinstance(column.get(k), bool)
                for k in ("mean", "std", "min", "max"))
            if not ok or column["std"] == 0:
                raise bad(f"input {name!r}: column {column.get('name')!r} needs a name, mean, std (not 0), min and max")
