"""Using a trained model on the user's own input: images, audio, text, table rows, token ids.

`Predictor.open(project, weights)` builds the graph with the run's weights (or runs an
exported file instead) and reads how the run preprocessed its data (preprocess.json, see
workbench.inference.preprocess), so a picture, clip, sentence or CSV row reaches the model
exactly as a validation sample did. The CLI (`workbench predict`) and the GUI's Try-it
dock both call this; nothing here imports Qt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from workbench.core.project import Project
from workbench.core.tensors import INT, TensorInfo
from workbench.inference import inputs as raw
from workbench.inference.backends import Backend, open_artifact, torch_backend
from workbench.inference.preprocess import PredictError, Record, open_record
from workbench.inference.seq2seq import MAX_BEAM, decode

__all__ = ["PredictError", "Prediction", "Predictor", "read_texts"]

KINDS = ("classes", "values", "sequence", "tokens")
MODALITIES = {"image": "image", "waveform": "audio", "text": "text", "ids": "tokens", "features": "tabular"}
_CHUNK = 64  # samples per forward pass


@dataclass
class Prediction:
    source: str  # a file name, "text", "row 3", "drawing"
    kind: str  # one of KINDS
    top: list[tuple[str, float]] = field(default_factory=list)  # classification: (class, probability)
    values: list[float] = field(default_factory=list)  # regression / reconstruction
    text: str = ""  # seq2seq output, or one label per token
    model_input: Any = None  # the preprocessed tensor (a tuple for several Inputs), batch dim removed

    def to_json(self) -> dict:
        out: dict = {"source": self.source, "kind": self.kind}
        if self.kind == "classes":
            out["top"] = [{"class": name, "probability": p} for name, p in self.top]
        elif self.kind == "values":
            out["values"] = list(self.values)
        else:
            out["text"] = self.text
        return out


class Predictor:
    def __init__(self, built, backend: Backend, record: Record, artifact_description: str = "") -> None:
        self._built = built
        self._backend = backend
        self._record = record
        self._names = list(built.input_names)
        self._infos = built.input_infos()
        self._output = built.output_infos()[0]
        self.weights_description = built.weights
        self.artifact_description = artifact_description
        self.note = record.note  # said to the user: e.g. the preprocessing had to be rebuilt
        self._top_k = 5

    @classmethod
    def open(cls, project: Project, weights: str | os.PathLike | None, artifact: str | os.PathLike | None = None,
             artifact_kind: str | None = None) -> "Predictor":
        """`weights`: a run folder, checkpoint or state dict; `artifact`: an exported file to run
        instead of the PyTorch module (.pt2/TorchScript only with an explicit `artifact_kind`)."""
        from workbench.export.errors import ExportError
        from workbench.export.model import build_model

        if isinstance(project.training, dict) and project.training.get("objective") == "causal_lm":
            raise PredictError("this is a language model: continue a prompt with 'workbench generate'")
        try:
            built = build_model(project, weights)
        except ExportError as exc:
            where = f"{exc.node_id}: " if getattr(exc, "node_id", None) else ""
            message = str(exc)
            if weights is not None and str(weights) not in message:
                message = f"{weights}: {message}"
            raise PredictError(f"{where}{message}") from None
        infos = dict(zip(built.input_names, built.input_infos()))
        record = open_record(project, weights, infos)
        backend = torch_backend(built.module, built.input_names, f"PyTorch, weights {built.weights}")
        description = ""
        if artifact is not None:
            backend = open_artifact(artifact, artifact_kind, built.input_names, built.input_infos(), built.output_infos()[0])
            description = backend.description
        return cls(built, backend, record, description)

    # --- what the model is ------------------------------------------------------------

    @property
    def modality(self) -> str:
        if self.is_seq2seq:
            return "seq2seq"
        return MODALITIES.get(self._record.inputs[0]["kind"], "tensor") if len(self._infos) == 1 else "tensor"

    @property
    def is_seq2seq(self) -> bool:
        r = self._record
        return (len(self._infos) == 2 and r.task == "sequence" and all(i.dtype == INT for i in self._infos)
                and r.index("bos_index") is not None and r.index("eos_index") is not None)

    @property
    def classes(self) -> list[str] | None:
        return self._record.classes

    @property
    def input_info(self) -> list[TensorInfo]:
        return list(self._infos)

    @property
    def columns(self) -> list[tuple[str, float, float]]:
        entry = self._record.inputs[0]
        return [(c["name"], c["min"], c["max"]) for c in entry.get("columns", [])] if entry["kind"] == "features" else []

    @property
    def top_k(self) -> int:
        return self._top_k

    @top_k.setter
    def top_k(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PredictError(f"top-k must be a whole number >= 1, got {value!r}")
        self._top_k = value

    # --- inputs -----------------------------------------------------------------------

    def predict_files(self, paths: Sequence[str | os.PathLike]) -> list[Prediction]:
        """One prediction per file (per row of a CSV file; per line of stdin, `-`, for text)."""
        tensors, sources = [], []
        out: list[Prediction] = []
        for path in paths:
            if self.modality == "tabular":
                out += self._table(path)
            elif self.modality in ("text", "tokens", "seq2seq"):
                out += [self.predict_text(text, source) for source, text in read_texts(path)]
            elif self.modality in ("image", "audio"):
                if str(path) == "-":
                    raise PredictError(f"{self.modality} input comes from files, not standard input ('-')")
                entry = self._record.inputs[0]
                read = raw.image_file_tensor if self.modality == "image" else raw.audio_file_tensor
                tensors.append(read(entry, path))
                sources.append(os.path.basename(str(path)) or str(path))
            else:
                raise PredictError(f"this model's input ({self._describe_inputs()}) is not an image, audio clip, text "
                                   "or table row; feed it preprocessed tensors")
        if tensors:
            out += self._run([torch.stack(tensors)], sources)
        return out

    def predict_text(self, text: str, source: str = "text") -> Prediction:
        if self.is_seq2seq:
            return self.decode(text, source=source)
        entry = self._record.inputs[0]
        if len(self._infos) != 1 or entry["kind"] not in ("text", "ids"):
            raise PredictError(f"this model does not read text; its input is {self._describe_inputs()}")
        return self._run([raw.text_ids(entry, text, source).unsqueeze(0)], [source])[0]

    def predict_rows(self, rows: list[dict], labels: Sequence[str] | None = None) -> list[Prediction]:
        entry = self._record.inputs[0]
        if self.modality != "tabular":
            raise PredictError(f"this model does not read table rows; its input is {self._describe_inputs()}")
        labels = list(labels) if labels is not None else [f"row {i + 1}" for i in range(len(rows))]
        return self._run([raw.rows_tensor(entry, rows, labels)], labels) if rows else []

    def predict_image_array(self, array, source: str = "drawing") -> Prediction:
        if self.modality != "image":
            raise PredictError(f"this model does not read pictures; its input is {self._describe_inputs()}")
        return self._run([raw.image_tensor(self._record.inputs[0], array, source).unsqueeze(0)], [source])[0]

    def predict_tensors(self, batch, sources: Sequence[str] | None = None) -> list[Prediction]:
        """Already-preprocessed inputs: one batch-first tensor per graph Input (or one tensor)."""
        batch = [batch] if isinstance(batch, torch.Tensor) else list(batch)
        if len(batch) != len(self._infos):
            raise PredictError(f"the model takes {len(self._infos)} inputs ({', '.join(self._names)}); got {len(batch)}")
        for x, name, info in zip(batch, self._names, self._infos):
            if not isinstance(x, torch.Tensor) or tuple(x.shape[1:]) != tuple(info.shape) or x.dim() != len(info.shape) + 1:
                shape = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise PredictError(f"input {name} takes [N, {', '.join(map(str, info.shape))}]; got {shape}")
        n = len(batch[0])
        if any(len(x) != n for x in batch):
            raise PredictError("every input needs the same number of samples")
        batch = [x.to(torch.int64) if info.dtype == INT else x.float() for x, info in zip(batch, self._infos)]
        return self._run(batch, list(sources) if sources is not None else [f"tensor {i}" for i in range(n)])

    # --- seq2seq and saliency ---------------------------------------------------------

    def decode(self, text_or_ids, beam: int = 1, max_len: int | None = None, source: str = "text") -> Prediction:
        if not self.is_seq2seq:
            raise PredictError("decode needs an encoder-decoder token model (two int64 Inputs, a BOS/EOS vocabulary)")
        if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
            raise PredictError(f"beam must be a whole number from 1 to {MAX_BEAM}, got {beam!r}")
        r, (src_entry, _) = self._record, self._record.inputs
        window = self._infos[1].shape[0]
        if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
            raise PredictError(f"max length must be a whole number >= 1, got {max_len!r}")
        text = " ".join(str(i) for i in text_or_ids) if not isinstance(text_or_ids, str) else text_or_ids
        ids = raw.text_ids(src_entry, text, source)

        def step(source_ids, target_ids):
            return self._forward([source_ids, target_ids])

        found = decode(step, ids, window, r.index("bos_index"), r.index("eos_index"), r.index("pad_index") or 0,
                       max_len or window, beam)
        names = self.classes or []
        words = [names[i] if i < len(names) else str(i) for i in found.ids]
        return Prediction(source, "sequence", text=" ".join(words), values=[float(i) for i in found.ids],
                          model_input=ids)

    def saliency(self, prediction_or_input, class_index: int | None = None) -> np.ndarray:
        """H x W in [0, 1]: Grad-CAM on the last Conv2d node, else input-gradient saliency."""
        from workbench.inference.saliency import last_conv_node, saliency_map

        if self._backend.module is None:
            raise PredictError("saliency needs the PyTorch weights; it cannot run on an exported file")
        if self.modality != "image" or self._record.task != "classification":
            raise PredictError("saliency maps are for image classifiers")
        x = prediction_or_input.model_input if isinstance(prediction_or_input, Prediction) else prediction_or_input
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        if tuple(x.shape) != tuple(self._infos[0].shape):
            raise PredictError(f"saliency takes one preprocessed image {list(self._infos[0].shape)}; got {list(x.shape)}")
        width = int(np.prod(self._output.shape)) if self._output.shape else 1
        if class_index is None:
            class_index = int(torch.argmax(self._forward([x.unsqueeze(0).float()]).reshape(-1)))
        if isinstance(class_index, bool) or not isinstance(class_index, int) or not 0 <= class_index < width:
            raise PredictError(f"class index must be from 0 to {width - 1}, got {class_index!r}")
        order = [node.name for node in self._built.module.graph.nodes]
        return saliency_map(self._built.module, self._names[0], x, class_index, last_conv_node(self._built.graph, order))

    # --- running ----------------------------------------------------------------------

    def _forward(self, batch: list[torch.Tensor]) -> torch.Tensor:
        try:
            return self._backend(batch)
        except Exception as exc:  # a layer or runtime refusing this input: the user's data
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise PredictError(f"the model cannot run on this input ({line})") from None

    def _run(self, batch: list[torch.Tensor], sources: list[str]) -> list[Prediction]:
        out = []
        for start in range(0, len(sources), _CHUNK):
            part = [x[start : start + _CHUNK] for x in batch]
            result = self._forward(part)
            for i, source in enumerate(sources[start : start + _CHUNK]):
                model_input = part[0][i] if len(part) == 1 else tuple(x[i] for x in part)
                out.append(self._interpret(result[i], source, model_input))
        return out

    def _interpret(self, row: torch.Tensor, source: str, model_input) -> Prediction:
        task, names = self._record.task, self.classes
        if task == "classification":
            logits = row.reshape(-1).to(torch.float64)
            if logits.numel() == 1:  # BCEWithLogitsLoss: one logit for class 1
                p1 = float(torch.sigmoid(logits[0]))
                probs = torch.tensor([1.0 - p1, p1], dtype=torch.float64)
            else:
                probs = torch.softmax(logits, dim=0)
            labels = names if names is not None and len(names) == len(probs) else [str(i) for i in range(len(probs))]
            k = min(self._top_k, len(probs))
            values, order = torch.topk(probs, k)
            return Prediction(source, "classes", top=[(labels[int(i)], float(v)) for v, i in zip(values, order)],
                              model_input=model_input)
        if task == "sequence" and row.dim() == 2:
            ids = row.argmax(dim=-1).tolist()
            pad = self._record.index("pad_index")
            tokens = model_input if isinstance(model_input, torch.Tensor) and model_input.dim() == 1 else None
            if tokens is not None and pad is not None and len(tokens) == len(ids):
                ids = [i for i, t in zip(ids, tokens.tolist()) if t != pad]
            words = [names[i] if names and i < len(names) else str(i) for i in ids]
            return Prediction(source, "tokens", text=" ".join(words), values=[float(i) for i in ids],
                              model_input=model_input)
        return Prediction(source, "values", values=[float(v) for v in row.reshape(-1).tolist()], model_input=model_input)

    def _table(self, path) -> list[Prediction]:
        import sys

        name = "stdin" if str(path) == "-" else os.path.basename(str(path)) or str(path)
        text = sys.stdin.read() if str(path) == "-" else None
        header, records = raw.read_table(path, text)
        wanted = [c["name"] for c in self._record.inputs[0]["columns"]]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise PredictError(f"{path}: missing the column {missing[0]!r} (the model reads {', '.join(wanted)}; "
                               f"the file has {', '.join(header)})")
        if len(set(header)) != len(header):
            raise PredictError(f"{path}: repeats a column name in its header")
        rows, labels = [], []
        for line, cells in records:
            if len(cells) != len(header):
                raise PredictError(f"{path} line {line}: {len(cells)} values but the header has {len(header)} columns")
            rows.append(dict(zip(header, cells)))
            labels.append(f"{name} line {line}")
        if not rows:
            raise PredictError(f"{path}: a header but no rows to predict")
        return self.predict_rows(rows, labels)

    def _describe_inputs(self) -> str:
        return ", ".join(f"{n} {i.dtype} {list(i.shape)}" for n, i in zip(self._names, self._infos))


def read_texts(path) -> list[tuple[str, str]]:
    """(source, text): a file is one text; standard input gives one text per non-empty line."""
    import sys

    if str(path) == "-":
        return [(f"line {n}", line.strip()) for n, line in enumerate(sys.stdin.read().splitlines(), 1) if line.strip()]
    data = raw.read_bytes(path, "text file", 16 * 2**20)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PredictError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    if "\x00" in text:
        raise PredictError(f"{path}: not a text file (it holds NUL bytes)")
    return [(os.path.basename(str(path)) or str(path), text.strip())]
