"""The editable project travels inside its exports, and comes back out of them.

Writing (the export writers call these): ONNX `metadata_props`, TorchScript and `.pt2`
extra files, and a trailing comment block in the PyTorch source each carry two JSON texts:
PROJECT_KEY, the project document as exported, and WEIGHTS_KEY, where its weights came
from ({"source": "run" | "file" | "seed", "run", "file", "epoch", "seed"}).

Reading (`read_embedded`, behind `workbench open` and a file dropped on the window) never
runs what it reads: an ONNX file is parsed as protobuf, a TorchScript/.pt2 archive is read
as a zip (the entry size checked before it is read), source is read as text; each is
size-bounded. The JSON goes through the bounded parser (core/jsonfile.py) and the normal
project validation (project_from_dict), so an embedded project can do no more than a
project file can.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from workbench.core.jsonfile import MAX_BYTES, JsonFileError, parse_json, read_regular
from workbench.core.project import Project, ProjectError, project_from_dict

__all__ = ["PROJECT_KEY", "WEIGHTS_KEY", "Embedded", "embedded_texts", "weights_origin", "embed_in_onnx",
           "extra_files", "source_block", "read_embedded", "NotEmbedded"]

PROJECT_KEY = "model_workbench.project"
WEIGHTS_KEY = "model_workbench.weights"
EXTRA_NAMES = {PROJECT_KEY: "model_workbench_project.json", WEIGHTS_KEY: "model_workbench_weights.json"}
BLOCK_START = "# --- model-workbench project: `workbench open` this file to edit the model ---"
BLOCK_END = "# --- end of model-workbench project ---"
LINE = 96  # characters of JSON per comment line
MAX_ARTIFACT = 2**31  # what we read of an ONNX file (weights and all) to find the project


class NotEmbedded(Exception):
    """The file carries no project (the caller may fall back to importing it)."""


@dataclass
class Embedded:
    project: Project
    weights: dict  # the weights' origin as written (validated shape: plain JSON values)


def weights_origin(description_path: Path | None, epoch: int | None, seed: int) -> dict:
    """Where an export's weights came from: a run folder's file, a plain file, or the seed."""
    if description_path is None:
        return {"source": "seed", "seed": seed}
    path = Path(description_path)
    is_run = (path.parent / "metrics.jsonl").is_file()
    origin = {"source": "run" if is_run else "file", "file": path.name, "epoch": epoch}
    if is_run:
        origin["run"] = path.parent.name
    return origin


def embedded_texts(project: Project, origin: dict) -> dict[str, str]:
    """{PROJECT_KEY: project JSON, WEIGHTS_KEY: origin JSON}, ASCII-only."""
    return {PROJECT_KEY: json.dumps(project.to_dict(), ensure_ascii=True, sort_keys=False),
            WEIGHTS_KEY: json.dumps(origin, ensure_ascii=True)}


def embed_in_onnx(path: Path, texts: dict[str, str]) -> None:
    """Add the texts to an ONNX file's metadata_props (rewritten in place, external data untouched)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    kept = [p for p in model.metadata_props if p.key not in texts]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in texts.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def extra_files(texts: dict[str, str]) -> dict[str, str]:
    """The texts as TorchScript `_extra_files` / torch.export `extra_files`."""
    return {EXTRA_NAMES[key]: value for key, value in texts.items()}


def source_block(texts: dict[str, str]) -> str:
    """A trailing comment block holding the texts; Python ignores it."""
    lines = [BLOCK_START]
    for key, value in texts.items():
        lines.append(f"# {key}")
        lines += [f"#  {value[i:i + LINE]}" for i in range(0, len(value), LINE)]
    lines.append(BLOCK_END)
    return "\n".join(lines) + "\n"


# -- reading ---------------------------------------------------------------------------------
def read_embedded(path: Path) -> Embedded:
    """The project an exported file carries. Raises NotEmbedded (no project in it) or
    ProjectError (one is there but it cannot be used, or the file cannot be read)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise ProjectError(f"{path}: {exc.strerror or exc}") from None
    if head.startswith(b"PK"):
        texts = _from_zip(path)
    elif path.suffix.lower() == ".py":
        texts = _from_source(path)
    else:
        texts = _from_onnx(path)
    if PROJECT_KEY not in texts:
        raise NotEmbedded(f"{path}: carries no Model Workbench project")
    try:
        doc = parse_json(texts[PROJECT_KEY])
        origin = parse_json(texts.get(WEIGHTS_KEY, "{}"))
    except JsonFileError as exc:
        raise ProjectError(f"{path}: its embedded project is not valid JSON: {exc}") from None
    try:
        project = project_from_dict(doc, default_name=path.stem)
    except ProjectError as exc:
        raise ProjectError(f"{path}: its embedded project: {exc}") from None
    return Embedded(project, origin if isinstance(origin, dict) else {})


def _from_onnx(path: Path) -> dict[str, str]:
    import onnx

    try:
        raw = read_regular(path, MAX_ARTIFACT, "ONNX file")
    except (OSError, JsonFileError) as exc:
        raise ProjectError(f"{path}: {exc}") from None
    try:
        model = onnx.load_model_from_string(raw)
    except Exception:  # noqa: BLE001 - not protobuf: not ours to open
        raise NotEmbedded(f"{path}: not an ONNX, TorchScript, .pt2 or exported source file") from None
    return {p.key: p.value for p in model.metadata_props if p.key in EXTRA_NAMES and len(p.value) <= MAX_BYTES}


def _from_zip(path: Path) -> dict[str, str]:
    names = {name: key for key, name in EXTRA_NAMES.items()}
    texts: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                parts = info.filename.split("/")
                if len(parts) >= 2 and parts[-2] == "extra" and parts[-1] in names:
                    if info.file_size > MAX_BYTES:
                        raise ProjectError(f"{path}: its embedded {parts[-1]} is larger than {MAX_BYTES} bytes")
                    with archive.open(info) as entry:
                        texts[names[parts[-1]]] = entry.read(MAX_BYTES + 1).decode("utf-8")
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:
        raise ProjectError(f"{path}: cannot read the archive: {exc}") from None
    return texts


def _from_source(path: Path) -> dict[str, str]:
    try:
        text = read_regular(path, MAX_BYTES, "source file").decode("utf-8")  # a project file's own bound
    except (OSError, JsonFileError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: {exc}") from None
    start, end = text.rfind(BLOCK_START), text.rfind(BLOCK_END)
    if start < 0 or end < start:
        return {}
    texts: dict[str, list[str]] = {}
    current = None
    for line in text[start + len(BLOCK_START):end].splitlines():
        if line.startswith("#  ") and current is not None:
            texts[current].append(line[3:])
        elif line.startswith("# ") and line[2:] in EXTRA_NAMES:
            current = line[2:]
            texts[current] = []
    return {key: "".join(parts) for key, parts in texts.items()}
