"""Import every torchvision classification model and hold the summary against the original.

For each model of `torchvision.models.list_models(module=torchvision.models)`:
`workbench import` (in process: import_model, weights=None, seed 0) at 224x224, then
`workbench summary --json` of the project it writes. The parameter total must equal
`sum(p.numel())` of the original module, and the FLOPs total must be known and equal
FlopCounterMode's count of the original (one sample, eval mode, torch's decomposed path,
on meta tensors) within 1%. It also reports the share of nodes that are FxModule.

Models run one at a time; each finished row is appended to `--out` (a rerun skips the
models already there). `--mapping-only` runs only the import's mapping (no verification,
no summary): run it with PYTHONPATH pointing at an export of the commit before issue 15
(`git archive 45a6acb workbench | tar -x -C /tmp/before`) for the "before" column, then
`--rows after.jsonl before.jsonl` prints the table.

    nice .venv/bin/python benchmarks/import_coverage.py [--models a,b] [--size 224] [--out after.jsonl]
    PYTHONPATH=/tmp/before nice .venv/bin/python benchmarks/import_coverage.py --mapping-only --out before.jsonl
    .venv/bin/python benchmarks/import_coverage.py --rows after.jsonl before.jsonl

Prints one row per model, the markdown table of docs/import.md, and one line of JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

TOLERANCE = 0.01


def models() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def traced_params(model) -> int:
    """Parameters the eval-mode forward uses: the original's, less training-only heads
    (GoogLeNet's aux1/aux2, Inception-v3's AuxLogits), which the import leaves out."""
    import torch

    return sum(p.numel() for p in torch.fx.symbolic_trace(model).parameters())


def reference_flops(model, size: int) -> int:
    """FlopCounterMode on the original: one sample, eval mode, on meta tensors."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from workbench.core.flop_count import decomposed

    model = model.to("meta").eval()
    counter = FlopCounterMode(display=False)
    with decomposed(), counter, torch.no_grad():
        model(torch.empty(1, 3, size, size, device="meta"))
    return counter.get_total_flops()


def one(name: str, size: int, mapping_only: bool, meta: bool) -> dict:
    """Import one model and compare."""
    import torch
    import torchvision

    from workbench.core import importer

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    params_ref = sum(p.numel() for p in model.parameters())
    params_traced = traced_params(model)
    start = time.perf_counter()
    with _patched(importer, mapping_only, meta):
        if meta:
            model.to("meta")
        result = importer.import_model(f"torchvision.models:{name}", [(3, size, size)], model=model)
    graph = result.project.graph
    row = {"model": name, "size": size, "nodes": len(graph), "fx_modules": len(result.unmapped),
           "import_s": round(time.perf_counter() - start, 1)}
    if mapping_only:
        return row
    row.update(verified=not meta, ok=result.ok if not meta else None, max_diff=result.max_diff,
               problems=result.problems[:3], params_ref=params_ref, params_traced=params_traced)
    report = _summary_json(result.project)
    row.update(params=report["total_params"], macs=report["total_macs"], flops=report["total_flops"],
               counted_nodes=report["flops_counted_nodes"])
    del result
    row["flops_ref"] = reference_flops(model, size)
    row["params_equal"] = row["params"] == params_ref
    row["params_equal_traced"] = row["params"] == params_traced
    row["flops_within_1pct"] = row["flops"] is not None and abs(row["flops"] - row["flops_ref"]) <= TOLERANCE * row["flops_ref"]
    return row


@contextlib.contextmanager
def _patched(importer, mapping_only: bool, meta: bool):
    """--mapping-only: no verification. --meta: the traced model runs on meta tensors (shapes
    only, no arithmetic: the two traced batches cost nothing), so nothing can be verified."""
    saved = importer._verify, importer.example_inputs
    if mapping_only or meta:
        importer._verify = lambda *args, **kwargs: None
    if meta:
        def on_meta(*args, **kwargs):
            tensors, dtypes = saved[1](*args, **kwargs)
            return [t.to("meta") for t in tensors], dtypes

        importer.example_inputs = on_meta
    try:
        yield
    finally:
        importer._verify, importer.example_inputs = saved


def _summary_json(project) -> dict:
    """`workbench summary --json` of the imported project, as a user would run it."""
    from workbench.cli import main
    from workbench.core.project import save_project

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.wbproj"
        save_project(project, path)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["summary", str(path), "--json"])
    if code != 0:
        raise RuntimeError(f"workbench summary exited {code}")
    return json.loads(out.getvalue())


def run_one(name: str, size: int, mapping_only: bool, meta: bool) -> dict:
    """One model's row; a failure is a row too, so one model never ends the run. With `meta`,
    a model whose import needs real values (it inlines a small buffer) is imported on the CPU."""
    import gc

    try:
        return one(name, size, mapping_only, meta)
    except Exception as exc:  # an import failure, a model that cannot run: reported in the table
        if meta:
            return run_one(name, size, mapping_only, False)
        return {"model": name, "size": size, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    finally:
        gc.collect()


def _share(row: dict | None) -> str:
    if not row or "fx_modules" not in row:
        return "—"
    return f"{row['fx_modules']}/{row['nodes']} ({100 * row['fx_modules'] / row['nodes']:.0f}%)"


def table(after: list[dict], before: dict[str, dict]) -> str:
    lines = ["| model | params (= original) | MACs ours | MACs reference | ours / reference | FxModule nodes before | after |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in after:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error'][:80]} | | | | {_share(before.get(r['model']))} | |")
            continue
        ratio = "n/a" if r["flops"] is None else f"{r['flops'] / r['flops_ref']:.4f}"
        if r["params_equal"]:
            same = "yes"
        elif r.get("params_equal_traced"):
            same = f"yes, less {r['params_ref'] - r['params']:,} of training-only aux heads"
        else:
            same = f"NO: {r['params_ref']:,}"
        macs = "n/a" if r["macs"] is None else f"{r['macs'] / 1e9:.3f} G"
        lines.append(f"| {r['model']} | {r['params']:,} ({same}) | {macs} | {r['flops_ref'] / 2e9:.3f} G | {ratio} | "
                     f"{_share(before.get(r['model']))} | {_share(r)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated names (default: every classification model)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", help="append each row to this JSONL file as it finishes")
    parser.add_argument("--mapping-only", action="store_true",
                        help="only import and count FxModule nodes (no verification, no summary): for the 'before' column")
    parser.add_argument("--meta", action="store_true",
                        help="run the traced model on meta tensors: fast on a busy machine, but no numeric verification")
    parser.add_argument("--rows", nargs="*", help="only print the table of these JSONL files (after, then before)")
    args = parser.parse_args()
    if args.rows:
        after = [json.loads(line) for line in Path(args.rows[0]).read_text().splitlines() if line.strip()]
        before = {}
        for path in args.rows[1:]:
            before.update({r["model"]: r for r in map(json.loads, Path(path).read_text().splitlines()) if r})
        print(table(after, before))
        return
    names = args.models.split(",") if args.models else models()
    done = set()
    if args.out and Path(args.out).exists():  # resume: models already in the file are not run again
        done = {json.loads(line)["model"] for line in Path(args.out).read_text().splitlines() if line.strip()}
    rows = []
    for name in names:
        if name in done:
            continue
        row = run_one(name, args.size, args.mapping_only, args.meta)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    if not args.mapping_only:
        print(table(rows, {}))
    good = [r for r in rows if "error" not in r and "params_equal" in r]
    print(json.dumps({
        "name": "import_coverage", "models": len(rows), "errors": sum("error" in r for r in rows),
        "params_equal": sum(r.get("params_equal", False) for r in good),
        "flops_within_1pct": sum(r.get("flops_within_1pct", False) for r in good),
        "fx_modules": sum(r.get("fx_modules", 0) for r in rows), "nodes": sum(r.get("nodes", 0) for r in rows),
    }))


if __name__ == "__main__":
    main()
