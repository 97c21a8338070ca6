"""`csv`: a table with a header row; numeric feature columns, one target column.

params: path (required), target (required; a list of columns for multi-output
regression), features (default: every other column), task ("classification" or
"regression"; inferred when absent: text labels, or whole numbers with at most
MAX_INFERRED_CLASSES distinct values, mean classification), delimiter (",").
Features are standardised with the training split's per-column mean and std.
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.data.bundle import DataBundle, DataError
from workbench.data.request import Request, standardise, tensor_bundle
from workbench.data.sources.csvfile import class_names, parse_number, read_table
from workbench.data.splits import split_indices

MAX_INFERRED_CLASSES = 20
TASKS = ("classification", "regression")


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"path", "target", "features", "task", "delimiter"})
    path = params.path("path", request.base_dir)
    targets = params.str_list("target")
    task = params.str("task", None, choices=TASKS) if "task" in params else None
    table = read_table(path, params.str("delimiter", ","))
    for name in targets:
        table.column(name, params.field("target"))
    features = params.str_list("features", None) or [c for c in table.header if c not in targets]
    overlap = sorted(set(features) & set(targets))
    if overlap:
        raise params.error("features", f"includes the target column {overlap[0]!r}")
    if not features:
        raise params.error("features", f"is empty: {path.name} has no columns besides the target")
    x = np.array([table.numbers(name, params.field("features")) for name in features], dtype=np.float64).T
    task = task or infer_task(table, targets)
    if task == "classification":
        if len(targets) != 1:
            raise params.error("target", f"must be one column for classification, got {targets}")
        labels = [canonical(v) for v in table.column(targets[0], params.field("target"))]
        classes = class_names(labels)
        if len(classes) < 2:
            raise DataError(f"{path.name} column {targets[0]!r} holds a single class ({classes[0]!r}); classification needs two or more")
        index = {name: i for i, name in enumerate(classes)}
        y = torch.tensor([index[v] for v in labels], dtype=torch.int64)
    else:
        classes = None
        y = torch.from_numpy(np.array([table.numbers(t, params.field("target")) for t in targets], dtype=np.float32).T.copy())
    x = torch.from_numpy(x.astype(np.float32))
    train_idx, val_idx = split_indices(len(y), request.val_fraction, request.seed)
    x_train, x_val = x[train_idx], x[val_idx]
    x_train, x_val, mean, std = standardise(x_train, x_val, dims=0)
    val = ((x_val,), y[val_idx]) if len(val_idx) else None
    return tensor_bundle(
        ((x_train,), y[train_idx]),
        val,
        task=task,
        names=("features",),
        source=f"csv '{path.name}'",
        modality="features",
        classes=classes,
        description=f"{path.name}: {len(y)} rows, {len(features)} features, {task} of {', '.join(targets)}",
        extra={
            "features": features,
            "targets": targets,
            "feature_mean": mean.flatten().tolist(),
            "feature_std": std.flatten().tolist(),
        },
    )


def infer_task(table, targets: list[str]) -> str:
    if len(targets) > 1:
        return "regression"
    values = table.column(targets[0], "data.params.target")
    numbers = [parse_number(v) for v in values]
    if any(n is None for n in numbers):
        return "classification"
    if all(float(n).is_integer() for n in numbers) and len(set(numbers)) <= MAX_INFERRED_CLASSES:
        return "classification"
    return "regression"


def canonical(label: str) -> str:
    """"1.0" and "1" are one class; other labels stay as written."""
    number = parse_number(label)
    if number is not None and number.is_integer():
        return str(int(number))
    return label
