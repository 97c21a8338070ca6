"""`data_facts`: the sizes a graph may take from its data, without loading the data.

    {"vocab_size": int, "num_classes": int, "input_shape": [C, H, W]}
    (a key is absent when the source cannot say cheaply; input_shape is the per-sample shape
    of sources whose samples have a fixed size, which a new project's Input takes)

Shape inference runs on every edit, so this must be fast: text_corpus reads the size from
its cache entry when the corpus was tokenized before; otherwise "char" counts the
distinct characters of the training split (+ the 4 special tokens: exactly what the
tokenizer will learn) and remembers the count for those files, and "bpe" gives the
requested vocab_size (the trained one can be smaller; the loaded bundle's own size then
wins, see `bundle_facts`). Classification sources give their class count where it is a
fixed number or a folder listing. A data section that is wrong gives no facts: the
nodes that need them say so, and loading the data says what is wrong.
"""

from __future__ import annotations

from pathlib import Path

from workbench.data.bundle import DataBundle, DataError
from workbench.data.params import Params
from workbench.data.paths import data_base_dir
from workbench.data.splits import read_val_fraction

__all__ = ["data_facts", "bundle_facts", "project_graph", "run_facts"]

_sizes: dict[str, int] = {}  # corpus cache key -> vocabulary size, when it took reading files


def data_facts(data: dict, base_dir: Path) -> dict:
    """What the data section says about sizes; never raises on a bad section."""
    if not isinstance(data, dict):
        return {}
    source = data.get("source")
    reader = _READERS.get(source) if isinstance(source, str) else None
    if reader is None:
        return {}
    try:
        return reader(Params(data.get("params"), f"the {source} source"), Path(base_dir), read_val_fraction(data))
    except (DataError, OSError):
        return {}


def project_graph(project, facts: dict | None = None, weights=None):
    """The project's graph with its sizes from the data filled in (`facts`, else
    `data_facts` of its data section, where a run's own tokenizer.json beside `weights`
    wins): the graph itself when it takes none from the data."""
    from workbench.core.from_data import data_params, resolve_from_data

    if not data_params(project.graph):
        return project.graph
    if facts is None:
        facts = {**data_facts(project.data, data_base_dir(project.path)), **run_facts(weights)}
    return resolve_from_data(project.graph, facts)


def run_facts(weights) -> dict:
    """The vocabulary size of the run that `weights` (a run folder or a file in one) comes from."""
    from workbench.data.tokenizer import TokenizerError, tokenizer_for_run

    if weights is None:
        return {}
    where = Path(weights)
    try:
        tokenizer = tokenizer_for_run(where if where.is_dir() else where.parent)
    except (TokenizerError, OSError):
        return {}
    return {"vocab_size": tokenizer.vocab_size} if tokenizer is not None else {}


def bundle_facts(bundle: DataBundle) -> dict:
    """The same facts from data already loaded (authoritative: the trained tokenizer's size)."""
    facts = {}
    vocab = bundle.extra.get("vocab_size") if isinstance(bundle.extra, dict) else None
    if isinstance(vocab, int):
        facts["vocab_size"] = vocab
    if bundle.task == "classification" and bundle.num_classes:
        facts["num_classes"] = bundle.num_classes
    return facts


def _text_corpus(params: Params, base_dir: Path, val_fraction: float) -> dict:
    from workbench.data.corpus_files import read_corpus
    from workbench.data.sources.corpus import cached_meta, read_settings
    from workbench.data.tokenizer import SPECIALS

    settings = read_settings(params, base_dir, val_fraction)
    key = settings.key()
    meta = cached_meta(key)
    if meta is not None:  # tokenized before: the corpus's token count is known too
        return {"vocab_size": int(meta["vocab_size"]), "corpus_tokens": int(meta["train"])}
    if settings.tokenizer_file is None and settings.kind == "bpe":
        return {"vocab_size": settings.vocab_size}
    if key not in _sizes:
        if settings.tokenizer_file is not None:
            _sizes[key] = settings.tokenizer().vocab_size
        else:
            text = read_corpus(settings.files, val_fraction)
            _sizes[key] = len(set().union(*(set(part) for part in text.train))) + len(SPECIALS)
    return {"vocab_size": _sizes[key]}


def _digits(params: Params, base_dir: Path, val_fraction: float) -> dict:
    return {"num_classes": 10, "input_shape": [1, 8, 8]}  # workbench.data.sources.digits


def _mnist_sample(params: Params, base_dir: Path, val_fraction: float) -> dict:
    return {"num_classes": 10, "input_shape": [1, 28, 28]}  # workbench.data.sources.mnist_sample


# torchvision sets: (channels, height, width) as stored; every one has 10 classes
_VISION = {"MNIST": (1, 28, 28), "FashionMNIST": (1, 28, 28), "CIFAR10": (3, 32, 32)}


def _torchvision(params: Params, base_dir: Path, val_fraction: float) -> dict:
    c, h, w = _VISION[params.str("name", choices=list(_VISION))]
    resize = params.raw("resize", None)
    if isinstance(resize, int) and not isinstance(resize, bool) and resize > 0:
        h = w = resize
    elif isinstance(resize, list) and len(resize) == 2 and all(isinstance(v, int) and v > 0 for v in resize):
        h, w = resize
    elif resize not in (None, False):  # true: the Input's own size, so the data follows the graph
        return {"num_classes": 10}
    return {"num_classes": 10, "input_shape": [c, h, w]}


def _image_folder(params: Params, base_dir: Path, val_fraction: float) -> dict:
    root = params.path("path", base_dir, kind="folder")
    classes = [p for p in root.iterdir() if p.is_dir()]  # as torchvision find_classes
    return {"num_classes": len(classes)} if classes else {}


def _text_csv(params: Params, base_dir: Path, val_fraction: float) -> dict:
    from workbench.data.sources.csvfile import class_names, read_table

    table = read_table(params.path("path", base_dir), params.str("delimiter", ","))
    return {"num_classes": len(class_names(table.column(params.str("label", "label"), params.field("label"))))}


_READERS = {"text_corpus": _text_corpus, "digits": _digits, "mnist_sample": _mnist_sample, "torchvision": _torchvision,
            "image_folder": _image_folder, "text_csv": _text_csv}
