"""Running the Try-it dock's predictions off the UI thread.

A `TryItThread` opens the model (a `Predictor`, kept in a `PredictorCache` so the next
input does not rebuild it), runs one `Ask` and hands back an `Outcome`; it never touches a
widget. With an exported file chosen, the same input also runs through the PyTorch
weights and the outcome says whether the two answers agree. Torch is imported here only
inside the thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

__all__ = ["Ask", "Profile", "Outcome", "PredictorCache", "TryItThread", "compare", "ASK_METHODS"]

# What the dock may ask a Predictor: an allow-list of its input methods.
ASK_METHODS = ("profile", "predict_image_array", "predict_files", "predict_text", "predict_rows", "decode", "saliency")
MATCH_TOLERANCE = 1e-4  # DESIGN §7: ONNX vs PyTorch, fp32


@dataclass
class Ask:
    """One request: the project snapshot, which weights / exported file, and the Predictor call."""

    snapshot: dict
    path: Path | None
    weights: str
    method: str  # one of ASK_METHODS
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    artifact: str | None = None
    artifact_kind: str | None = None
    top_k: int = 10  # bars shown: every digit, the ten likeliest of more classes
    mel: tuple | None = None  # first MelSpectrogram node (params, input infos): the spectrogram view
    saliency: bool = False  # also the heat map of the first image
    weights_label: str = ""  # the run chooser's words for the weights


@dataclass
class Profile:
    """What the opened model takes and where its weights came from."""

    modality: str
    classes: list[str] | None
    columns: list[tuple[str, float, float]]
    input_shapes: list[tuple[int, ...]]  # per graph Input
    weights: str
    artifact: str
    note: str
    reads_ids: bool = False  # the first Input takes token ids typed as numbers, not words

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.input_shapes[0] if self.input_shapes else ()

    def same_model(self, other: "Profile | None") -> bool:
        """Whether `other` takes the same inputs (the input widgets need no change)."""
        return other is not None and (self.modality, self.classes, self.columns, self.input_shapes) == (
            other.modality, other.classes, other.columns, other.input_shapes)


@dataclass
class Outcome:
    profile: Profile
    weights_label: str = ""
    predictions: list = field(default_factory=list)
    agreement: str = ""  # with an exported file: whether its answer matches PyTorch's
    agrees: bool | None = None
    saliency: Any = None  # H x W in [0, 1]
    saliency_error: str = ""
    spectrogram: Any = None  # [n_mels, frames] dB


class PredictorCache:
    """The last Predictor per (project, weights, exported file); used by one thread at a time."""

    def __init__(self) -> None:
        self._kept: dict[tuple, Any] = {}

    def get(self, ask: Ask, with_artifact: bool = True):
        from workbench.core.project import project_from_dict
        from workbench.inference.predict import Predictor

        artifact = ask.artifact if with_artifact else None
        kind = ask.artifact_kind if with_artifact else None
        key = (json.dumps(ask.snapshot, sort_keys=True, default=str), str(ask.path), ask.weights, artifact, kind)
        if key not in self._kept:
            project = project_from_dict(ask.snapshot)
            project.path = ask.path
            stale = [k for k in self._kept if k[:3] != key[:3] or (artifact is not None and k[3] is not None)]
            for k in stale:
                del self._kept[k]
            self._kept[key] = Predictor.open(project, ask.weights, artifact, kind)
        return self._kept[key]


def profile_of(predictor) -> Profile:
    # Predictor says "tokens" for a one-Input id model, but not how a seq2seq source is typed:
    # its preprocess record does ("ids" or "text"); read it without failing if that changes
    inputs = getattr(getattr(predictor, "_record", None), "inputs", None) or [{}]
    reads_ids = predictor.modality == "tokens" or inputs[0].get("kind") == "ids"
    return Profile(predictor.modality, predictor.classes, predictor.columns,
                   [tuple(info.shape) for info in predictor.input_info], predictor.weights_description,
                   predictor.artifact_description, predictor.note or "", reads_ids)


def run_ask(cache: PredictorCache, ask: Ask) -> Outcome:
    """The work of one Ask (in the worker thread). Raises PredictError / ValueError / OSError."""
    if ask.method not in ASK_METHODS:
        raise ValueError(f"the Try-it dock cannot ask {ask.method!r}")
    predictor = cache.get(ask)
    outcome = Outcome(profile_of(predictor), ask.weights_label)
    if ask.method == "profile":
        return outcome
    if ask.method == "saliency":
        outcome.saliency = cache.get(ask, with_artifact=False).saliency(*ask.args, **ask.kwargs)
        return outcome
    every = max(ask.top_k, len(predictor.classes or ()))  # all classes, to compare every probability
    predictor.top_k = every
    outcome.predictions = _listed(getattr(predictor, ask.method)(*ask.args, **ask.kwargs))
    if ask.artifact is not None:
        reference = cache.get(ask, with_artifact=False)
        reference.top_k = every
        expected = _listed(getattr(reference, ask.method)(*ask.args, **ask.kwargs))
        outcome.agrees, outcome.agreement = compare(outcome.predictions, expected)
    for p in outcome.predictions:
        p.top = p.top[: ask.top_k]
    first = outcome.predictions[0] if outcome.predictions else None
    if ask.saliency and first is not None and outcome.profile.modality == "image":
        try:
            outcome.saliency = cache.get(ask, with_artifact=False).saliency(first.model_input)
        except ValueError as exc:  # PredictError: not a classifier, say so beside the answer
            outcome.saliency_error = str(exc)
    if ask.mel is not None and first is not None and outcome.profile.modality == "audio":
        from workbench.inference.model_view import mel_spectrogram

        outcome.spectrogram = mel_spectrogram(first.model_input, ask.mel)
    return outcome


def _listed(result) -> list:
    return list(result) if isinstance(result, list) else [result]


def compare(found: list, expected: list) -> tuple[bool, str]:
    """(agrees, in words): the exported file's predictions against PyTorch's, for the same inputs."""
    if len(found) != len(expected):
        return False, f"differs from PyTorch: {len(found)} answers instead of {len(expected)}"
    worst, same = 0.0, True
    for a, b in zip(found, expected):
        if a.kind == "classes":
            pa, pb = dict(a.top), dict(b.top)
            worst = max([worst] + [abs(pa.get(name, 0.0) - pb.get(name, 0.0)) for name in set(pa) | set(pb)])
            same = same and bool(a.top) and bool(b.top) and a.top[0][0] == b.top[0][0]
        elif a.kind == "values":
            same = same and len(a.values) == len(b.values)
            worst = max([worst] + [abs(x - y) for x, y in zip(a.values, b.values)])
        else:
            same = same and a.text == b.text
    if found and found[0].kind == "classes":
        what = f"same top-1, max probability difference {worst:.2g}" if same else \
            f"top-1 {found[0].top[0][0]!r}, PyTorch says {expected[0].top[0][0]!r}"
    elif found and found[0].kind == "values":
        what = f"max difference {worst:.2g}"
    else:
        what = "same output" if same else "another output"
    agrees = same and worst <= MATCH_TOLERANCE
    return agrees, f"{'matches' if agrees else 'differs from'} PyTorch: {what}"


class TryItThread(QThread):
    """Runs one Ask; `done(Outcome)` or `failed(message)`."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, cache: PredictorCache, ask: Ask) -> None:
        super().__init__()
        self.cache, self.ask = cache, ask

    def run(self) -> None:
        try:
            outcome = run_ask(self.cache, self.ask)
        except (ValueError, OSError) as exc:  # PredictError is a ValueError: the user's input or files
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        except Exception as exc:  # a layer failing on this input must not kill the app's thread silently
            self.failed.emit(f"the model failed on this input: {type(exc).__name__}: {exc}"[:400])
            return
        self.done.emit(outcome)
