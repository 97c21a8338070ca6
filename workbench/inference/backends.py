"""What runs the model for `predict`: the PyTorch module, or an exported file.

Every back end maps a tuple of batch-first input tensors (the graph's Inputs, in order) to
the first output. An artifact is checked against the project when it is opened: ONNX by
its declared inputs, every format by one probe batch whose output must have the project's
per-sample shape, so a file exported from another graph is refused naming the file.

`.pt2` and TorchScript files carry code that runs when they are loaded (DESIGN §9): they
are opened only when the caller names the kind explicitly, never guessed from a suffix.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from workbench.core.tensors import INT, TensorInfo
from workbench.inference.preprocess import PredictError

__all__ = ["Backend", "ARTIFACT_KINDS", "CODE_BEARING", "torch_backend", "open_artifact"]

ARTIFACT_KINDS = ("onnx", "pt2", "torchscript")
CODE_BEARING = ("pt2", "torchscript")


class Backend:
    def __init__(self, run: Callable[[tuple], torch.Tensor], description: str, module=None) -> None:
        self._run = run
        self.description = description
        self.module = module  # the PyTorch module (gradients, saliency), None for artifacts

    def __call__(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self._run(tuple(inputs))


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def torch_backend(module: torch.nn.Module, names: Sequence[str], description: str) -> Backend:
    def run(inputs: tuple) -> torch.Tensor:
        with torch.inference_mode():
            return _first(module(**dict(zip(names, inputs)))).float()

    return Backend(run, description, module)


def open_artifact(path, kind: str | None, names: Sequence[str], infos: Sequence[TensorInfo],
                  output: TensorInfo) -> Backend:
    """The exported file as a back end; PredictError naming it when it cannot serve the project."""
    path = Path(path)
    if kind is None and path.suffix.lower() == ".onnx":
        kind = "onnx"
    if kind not in ARTIFACT_KINDS:
        raise PredictError(f"{path}: say which kind of exported file it is ({', '.join(ARTIFACT_KINDS)}); "
                           ".pt2 and TorchScript files run code when loaded, so they are never opened by guess")
    if not path.is_file():
        raise PredictError(f"{path}: no such file")
    if kind == "onnx":
        run = _onnx(path, names, infos)
        what = f"onnxruntime on {path}"
    else:
        run = _torch_file(path, kind)
        what = f"{'torch.export' if kind == 'pt2' else 'TorchScript'} program {path}"
    backend = Backend(_any_batch(run), what)
    _probe(backend, path, infos, output)
    return backend


def _torch_file(path: Path, kind: str) -> Callable[[tuple], torch.Tensor]:
    try:
        if kind == "pt2":
            module = torch.export.load(str(path)).module()
        else:
            with warnings.catch_warnings():  # torch.jit.load's deprecation notice is not the user's concern
                warnings.simplefilter("ignore", FutureWarning)
                module = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:  # each loader raises its own types for a damaged or foreign file
        raise PredictError(f"{path}: not a {kind} file that loads ({_line(exc)})") from None

    def run(inputs: tuple) -> torch.Tensor:
        with torch.no_grad():
            return _first(module(*inputs)).float()

    return run


def _onnx(path: Path, names: Sequence[str], infos: Sequence[TensorInfo]) -> Callable[[tuple], torch.Tensor]:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for unreadable files
        raise PredictError(f"{path}: not a model onnxruntime can load ({_line(exc)})") from None
    declared = session.get_inputs()
    if len(declared) != len(infos):
        raise PredictError(f"{path}: it takes {len(declared)} inputs ({', '.join(i.name for i in declared)}); "
                           f"the project has {len(infos)} ({', '.join(names)})")
    for spec, name, info in zip(declared, names, infos):
        want = "tensor(int64)" if info.dtype == INT else "tensor(float)"
        shape = spec.shape[1:] if len(spec.shape) == len(info.shape) + 1 else None
        fixed = shape is not None and all(not isinstance(d, int) or d == s for d, s in zip(shape, info.shape))
        if spec.type != want or not fixed:
            raise PredictError(f"{path}: its input {spec.name} is {spec.type} {spec.shape}; the project's {name} is "
                               f"{want} [N, {', '.join(str(d) for d in info.shape)}]: it was exported from another graph")
    input_names, output_name = [i.name for i in declared], session.get_outputs()[0].name

    def run(inputs: tuple) -> torch.Tensor:
        feed = {n: np.ascontiguousarray(x.numpy()) for n, x in zip(input_names, inputs)}
        return torch.from_numpy(session.run([output_name], feed)[0]).float()

    return run


def _any_batch(run: Callable[[tuple], torch.Tensor]) -> Callable[[tuple], torch.Tensor]:
    """A static-batch export runs one sample at a time when a whole batch fails."""
    def batched(inputs: tuple) -> torch.Tensor:
        try:
            return run(inputs)
        except Exception:
            if len(inputs[0]) < 2:
                raise
        return torch.cat([run(tuple(x[i : i + 1] for x in inputs)) for i in range(len(inputs[0]))])

    return batched


def _probe(backend: Backend, path: Path, infos: Sequence[TensorInfo], output: TensorInfo) -> None:
    zeros = tuple(torch.zeros((1, *info.shape), dtype=torch.int64 if info.dtype == INT else torch.float32)
                  for info in infos)
    try:
        out = backend(zeros)
    except Exception as exc:  # the artifact's runtime raises its own types
        raise PredictError(f"{path}: does not run on the project's inputs ({_line(exc)}): "
                           "it was exported from another graph") from None
    if tuple(out.shape[1:]) != tuple(output.shape):
        raise PredictError(f"{path}: its output is shaped {list(out.shape[1:])} per sample; the project's is "
                           f"{list(output.shape)}: it was exported from another graph")


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
