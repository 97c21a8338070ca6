"""`workbench import model.onnx -o model.wbproj`: the ONNX half of the import command.

The project is written with its weights beside it (OUT.pt, a `{"model": state_dict}`
checkpoint like `workbench import --weights` writes), named in the project's
`imported.weights`, so `workbench export OUT.wbproj --weights OUT.pt` reproduces the file.
Exit status: 0 written and verified, 1 written but the imported graph differs from the
file (or could not be compared), 2 a mistake (UserError).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["import_onnx_file", "write_import"]

EXIT_OK, EXIT_DIFFERS = 0, 1


def write_import(result, target: Path) -> Path:
    """Save an ImportResult's project and, beside it, its weights; returns the weights path.
    Raises OSError."""
    from workbench.core.importer import save_weights
    from workbench.core.project import save_project

    weights = Path(target).with_suffix(".pt")
    result.project.extra["imported"]["weights"] = weights.name
    save_project(result.project, Path(target))
    save_weights(weights, result.state_dict)
    return weights


def import_onnx_file(source: str, target: str, input_shapes=None, name: str | None = None, error=ValueError) -> int:
    """Import, verify, write and print; mistakes raise `error` with one clear line."""
    from workbench.core.onnx_import import ImportFailure, import_onnx

    try:
        imported = import_onnx(Path(source), input_shapes, name=name)
    except ImportFailure as exc:
        raise error(str(exc)) from None
    try:
        weights = write_import(imported.result, Path(target))
    except OSError as exc:
        raise error(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from None
    print(imported.text())
    print(f"wrote {target}")
    print(f"wrote {weights} (the file's weights: use it with --weights)")
    return EXIT_OK if imported.ok else EXIT_DIFFERS
