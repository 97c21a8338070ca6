"""`workbench open FILE`: the editable project back out of an exported file.

An ONNX, TorchScript, `.pt2` or exported-source file made here carries its project
(embedded_project.py); an ONNX file without one is imported instead (onnx_import.py),
its initialisers becoming the weights. `recover_project` is what the CLI and the window
(a dropped file, File > Open) both call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.core.project import Project, ProjectError

__all__ = ["Recovered", "recover_project", "describe_embedded", "describe_origin", "open_file"]


@dataclass
class Recovered:
    project: Project
    how: str  # one line: where the project came from
    imported: object | None = None  # an OnnxImport when the file carried no project (its weights)


def describe_origin(origin: dict) -> str:
    source = origin.get("source")
    if source == "run":
        epoch = origin.get("epoch")
        return f"{origin.get('file')} of run {origin.get('run')}" + (f", epoch {epoch}" if epoch is not None else "")
    if source == "file":
        return f"the file {origin.get('file')}"
    if source == "seed":
        return f"initialised from training.seed {origin.get('seed')}"
    return "not recorded"


def describe_embedded(path: Path, embedded) -> str:
    return f"recovered the project embedded in {Path(path).name} (its weights: {describe_origin(embedded.weights)})"


def recover_project(path: Path) -> Recovered:
    """Raises ProjectError when the file neither carries a project nor imports as ONNX."""
    from workbench.export.embedded_project import NotEmbedded, read_embedded

    path = Path(path)
    try:
        embedded = read_embedded(path)
    except NotEmbedded as exc:
        if path.suffix.lower() != ".onnx":
            raise ProjectError(str(exc)) from None
    else:
        return Recovered(embedded.project, describe_embedded(path, embedded))
    from workbench.core.onnx_import import ImportFailure, import_onnx

    try:
        imported = import_onnx(path)
    except ImportFailure as exc:
        raise ProjectError(f"{path.name} carries no Model Workbench project, and importing it failed: {exc}") from None
    return Recovered(imported.result.project, f"{path.name} carries no project: imported it as ONNX\n"
                     + imported.text(), imported)


def open_file(source: str, output: str, error=ValueError) -> int:
    """Recover and write `output` (with the weights beside it after an ONNX import)."""
    from workbench.core.project import save_project

    try:
        recovered = recover_project(Path(source))
    except ProjectError as exc:
        raise error(str(exc)) from None
    print(recovered.how)
    try:
        if recovered.imported is not None:
            from workbench.export.import_command import write_import

            weights = write_import(recovered.imported.result, Path(output))
            print(f"wrote {weights} (the file's weights: use it with --weights)")
        else:
            save_project(recovered.project, Path(output))
    except OSError as exc:
        raise error(f"cannot write {exc.filename or output}: {exc.strerror or exc}") from None
    print(f"wrote {output}")
    return 0
