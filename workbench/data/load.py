"""`load_data`: the project's "data" section -> a DataBundle for the Trainer.

The section is {"source": name, "params": {...}, "val_fraction": 0.2, "augment": [...]},
plus optionally "target": "input" — the autoencoder switch: the (single, float) input
becomes the target too, the task is "reconstruction", and sources skip standardisation so
images stay in [0, 1]. Any source with one float input supports it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from workbench.core.tensors import FLOAT, TensorInfo
from workbench.data.augment import apply_augmentation, parse_augment
from workbench.data.bundle import DataBundle, DataError
from workbench.data.datasets import ReconstructionSet, ReorderedSet, TensorSet
from workbench.data.params import Params
from workbench.data.request import Request
from workbench.data.sources import SOURCES, loader
from workbench.data.splits import read_val_fraction

TARGETS = ("label", "input")


def load_data(data_cfg: dict, inputs: dict[str, TensorInfo], seed: int, base_dir: Path) -> DataBundle:
    """Build the train/validation sets the project's data section describes.

    `inputs` are the graph's Input nodes (id -> per-sample TensorInfo, in graph order); the
    bundle's inputs are named after them. Relative paths resolve against `base_dir` (the
    project's folder: data_base_dir); bundle.extra["paths"] maps each path field to the
    absolute path it named. Raises DataError, naming the field, for anything misconfigured
    or missing.
    """
    if not isinstance(data_cfg, dict):
        raise DataError(f"the data section must be an object, got {type(data_cfg).__name__}")
    source = data_cfg.get("source")
    if not isinstance(source, str) or source not in SOURCES:
        raise DataError(f"data.source {source!r} is not a known source; choose one of {', '.join(SOURCES)}")
    target = data_cfg.get("target", "label")
    if target not in TARGETS:
        raise DataError(f"data.target must be \"label\" (the default) or \"input\" (reconstruction), got {target!r}")
    specs = parse_augment(data_cfg.get("augment"))
    request = Request(
        source=source,
        params=Params(data_cfg.get("params"), f"the {source} source"),
        inputs=dict(inputs or {}),
        seed=int(seed),
        base_dir=Path(base_dir),
        val_fraction=read_val_fraction(data_cfg),
        reconstruction=target == "input",
    )
    bundle = loader(source)(request)
    if request.reconstruction:
        bundle = as_reconstruction(bundle)
    bundle = match_inputs(bundle, list(request.inputs))
    if specs:
        bundle = apply_augmentation(bundle, specs, request.seed)
    bundle.extra["paths"] = {name: str(path) for name, path in request.params.resolved.items()}
    return bundle


def as_reconstruction(bundle: DataBundle) -> DataBundle:
    if len(bundle.input_infos) != 1 or bundle.input_infos[0].dtype != FLOAT:
        raise DataError(
            f'data.target "input" needs a source with one float input (images, features or waveforms); '
            f"{bundle.source} gives {_describe_inputs(bundle)}"
        )

    def convert(dataset, tensors):
        if tensors is not None:
            (x,), _ = tensors
            return TensorSet((x,), x), ((x,), x)
        return (ReconstructionSet(dataset) if dataset is not None else None), None

    train, train_tensors = convert(bundle.train, bundle.train_tensors)
    val, val_tensors = convert(bundle.val, bundle.val_tensors)
    return replace(
        bundle,
        train=train,
        val=val,
        train_tensors=train_tensors,
        val_tensors=val_tensors,
        task="reconstruction",
        classes=None,
        target_width=None,
        target_info=bundle.input_infos[0],
        extra={**bundle.extra, "source_classes": bundle.classes},
    )


def match_inputs(bundle: DataBundle, graph_inputs: list[str]) -> DataBundle:
    """Name the data's inputs after the graph's Input nodes: by name when the names are
    the same set (e.g. "source"/"target"), else in order. A different count is left for
    check_compatibility to report."""
    names = bundle.input_names
    if len(graph_inputs) != len(names):
        return bundle
    order = tuple(range(len(names)))
    if set(graph_inputs) == set(names):
        order = tuple(names.index(g) for g in graph_inputs)
    if order == tuple(range(len(names))):
        return replace(bundle, input_names=tuple(graph_inputs))

    def reorder_tensors(tensors):
        if tensors is None:
            return None
        xs, y = tensors
        return tuple(xs[i] for i in order), y

    def reorder_set(dataset):
        if dataset is None:
            return None
        if isinstance(dataset, TensorSet):
            return TensorSet(*reorder_tensors(dataset.tensors()))
        return ReorderedSet(dataset, order)

    return replace(
        bundle,
        train=reorder_set(bundle.train),
        val=reorder_set(bundle.val),
        train_tensors=reorder_tensors(bundle.train_tensors),
        val_tensors=reorder_tensors(bundle.val_tensors),
        input_names=tuple(graph_inputs),
        input_infos=tuple(bundle.input_infos[i] for i in order),
    )


def _describe_inputs(bundle: DataBundle) -> str:
    return ", ".join(f"{info.dtype} {list(info.shape)}" for info in bundle.input_infos) or "no inputs"
