"""Opening a project's trained token model for generation: weights, back end, tokenizer.

The tokenizer is the one the weights were trained with: `tokenizer.json` in the run
folder (or beside the checkpoint), else the file the project's data section names. A
vocabulary rebuilt from the corpus could differ, so it is never guessed.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.core.project import Project
from workbench.inference.token_model import GenerationError, TokenModel, onnx_logits, token_shape, torch_logits

__all__ = ["open_generator", "find_tokenizer_file"]

TOKENIZER_FILE = "tokenizer.json"


def find_tokenizer_file(project: Project, weights: str | os.PathLike | None) -> Path:
    candidates = []
    if weights is not None:
        where = Path(weights)
        candidates.append((where if where.is_dir() else where.parent) / TOKENIZER_FILE)
    params = project.data.get("params") if isinstance(project.data, dict) else None
    named = params.get("tokenizer_file") if isinstance(params, dict) else None
    if isinstance(named, str) and named:
        base = project.path.parent if project.path else Path.cwd()
        candidates.append(base / named)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates) or "nowhere (no --weights and no data.params.tokenizer_file)"
    raise GenerationError(f"no tokenizer found: looked for {looked}; pass --weights with a run folder of this project")


def open_generator(project: Project, weights: str | os.PathLike | None, onnx: str | os.PathLike | None = None):
    """(TokenModel, tokenizer) for the project, on PyTorch weights or on an ONNX file."""
    from workbench.data.tokenizer import TextTokenizer
    from workbench.export.errors import ExportError
    from workbench.export.model import build_model

    tokenizer = TextTokenizer.load(find_tokenizer_file(project, weights))
    try:
        built = build_model(project, weights)
    except ExportError as exc:
        where = f"{exc.node_id}: " if getattr(exc, "node_id", None) else ""
        raise GenerationError(f"{where}{exc}") from None
    shape = token_shape(built.plan, built.result)
    if tokenizer.vocab_size > shape.vocab:
        raise GenerationError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model only {shape.vocab} logits: "
                              "the weights and tokenizer come from different runs")
    if onnx is not None:
        if not Path(onnx).is_file():
            raise GenerationError(f"{onnx}: no such file")
        forward, description = onnx_logits(onnx, shape), f"onnxruntime on {onnx}"
    else:
        forward, description = torch_logits(built.module, shape), f"PyTorch, weights {built.weights}"
    return TokenModel(shape, forward, tokenizer.pad_id, description), tokenizer
