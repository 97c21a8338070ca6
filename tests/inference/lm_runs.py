"""A trained gpt_char run folder for the generation tests, and the unigram baseline it must beat.

The CI run is short (a smaller batch and a few dozen steps); the slow test trains the
example as shipped for its full step budget.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from workbench.core.project import load_project, save_project
from workbench.training.control import RunControl
from workbench.training.session import prepare

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def example_copy(tmp_path: Path, name: str = "gpt_char", val_fraction: float | None = None, **training) -> Path:
    """The example saved beside a link to the bundled corpus, with training overrides (and a
    smaller validation share: validating 10% of the corpus costs more than a short run)."""
    project = load_project(EXAMPLES / f"{name}.wbproj")
    project.training.update(training)
    if val_fraction is not None:
        project.data["val_fraction"] = val_fraction
    datasets = tmp_path.parent / "datasets"
    if not datasets.exists():
        datasets.symlink_to(EXAMPLES.parent / "datasets")
    target = tmp_path / f"{name}.wbproj"
    save_project(project, target)
    return target


def train(project_file: Path, runs_dir: Path):
    """Train as `workbench train` does; returns (run folder, the session's data bundle, result)."""
    project = load_project(project_file)
    session = prepare(project, runs_dir=runs_dir, control=RunControl())
    result = session.fit()
    return Path(session.run_dir), session.trainer.bundle, result


def unigram_loss(bundle) -> float:
    """Cross-entropy (nats per token) of the validation stream under the training stream's
    token frequencies (add-one smoothed): what a model that ignores context scores."""
    train_ids = np.asarray(bundle.extra["tokens_train"])
    val_ids = np.asarray(bundle.extra["tokens_val"])
    vocab = int(bundle.extra["vocab_size"])
    counts = np.bincount(train_ids, minlength=vocab).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val_ids].mean())


def final_val_loss(run_dir: Path) -> float:
    import json

    losses = [ev["val_loss"] for ev in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
              if "val_loss" in ev and ev.get("event") in ("epoch", "validation")]
    assert losses, "the run logged no validation"
    return losses[-1]


def perplexity(loss: float) -> float:
    return math.exp(loss)
