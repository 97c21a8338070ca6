"""Shape inference on a 300-node ResNet-style graph: one edit, re-inferred.

Builds Input [3, 64, 64] -> stem (Conv2d-BatchNorm2d-ReLU) -> 41 residual blocks
(conv-bn-relu-conv-bn + Add skip + ReLU; the first block of each of five later stages
halves H and W, with a 1x1 stride-2 conv on the skip) -> GlobalAvgPool -> Dropout ->
Linear -> Output: exactly 300 nodes. Then measures, over --reps repetitions:

  (a) cold     a fresh ShapeInference on the graph with the shape memo emptied;
  (b) edit     a warm ShapeInference after one edit near the input that changes every
               shape down to the pooling: the Input's H and W grow by 32 each time (96,
               128, ...), so even after five halvings every size is new: neither the memo
               nor the per-node states can hide any work (+1 would not do: sizes 65 and 66
               both become 33 after one stride-2 conv); timed from the `set_params` call
               to the new result;
  (b') memo    the same edit toggling between two sizes (64 and 96), so every node hits
               the memo (what undo/redo of one edit costs);
  (c) no-op    an edit that changes nothing downstream: the Dropout's p, a new value
               each time (only that node is re-inferred, the rest is a walk);
  (d) meta     the same graph "inferred" by running every layer on meta tensors: each
               built on CPU from the inferred input shapes, moved with `.to("meta")`,
               then run forward on meta tensors — the approach the shape formulas
               replace (and what plugin layers without a formula still get). Also shown
               with the modules prebuilt (forward only).

Times are wall clock (time.perf_counter); the table shows the median and the 95th
percentile, and beside them the median CPU time of the same runs (time.thread_time),
which other processes on a busy machine do not inflate. The last line is the JSON
summary (wall-clock figures); ratio = meta_ms / edit_ms.

Of the ~297 nodes re-inferred after edit (b), only ~35 distinct (layer type, params,
input shape) combinations occur: the blocks of one stage are alike, so most nodes are
answered by the memo filled earlier in the same pass, as in any ResNet the app shows.

    python benchmarks/shape_inference.py [--reps 50] [--meta-reps 20] [--profile]

Then (e) load + validate of large graphs from a project file: `load_project` (JSON,
checks, building the Graph) plus `infer_shapes` (every diagnostic `workbench validate`
prints), for a chain (Input -> ReLU x (n-2) -> Output) and a fan-out (one Input feeding
n-3 ReLUs, all merged by one Add -> Output) of 1k, 4k, 8k and 20k nodes; the JSON line's
load_20k_s is the worse of the two at 20k. Edge restore, cycle checks, the topological
order and the cycle search are linear, so 20k costs about 20x what 1k does.

Budget (DESIGN.md section 7): shape re-inference after one edit of a 300-node graph
(edit_ms, median) <= 10 ms; load + validate of a 20,000-node graph (load_20k_s) <= 2 s.
When the edit is over budget, or with --profile, a cProfile of the edit is printed,
restricted to workbench.core.

    python benchmarks/shape_inference.py --large-only [--large-reps 3]   # (e) alone
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from workbench.core import shapes  # noqa: E402
from workbench.core.catalog import default_catalog  # noqa: E402
from workbench.core.graph import Graph  # noqa: E402
from workbench.core.project import FORMAT, VERSION, load_project  # noqa: E402
from workbench.core.shapes import ShapeInference, infer_shapes  # noqa: E402
from workbench.core.tensors import TensorInfo  # noqa: E402

BUDGET_MS = 10.0
LOAD_BUDGET_S = 2.0
LARGE_SIZES = (1_000, 4_000, 8_000, 20_000)
NODES = 300
STAGES = ((16, 6), (32, 6), (64, 6), (128, 6), (256, 6), (256, 6))  # (channels, identity blocks)


# ---------------------------------------------------------------------------------------
# the graph


class Builder:
    def __init__(self) -> None:
        self.graph = Graph(default_catalog())
        self.y = 0

    def add(self, node_id: str, type_name: str, params: dict | None = None, *sources: str) -> str:
        self.y += 80
        self.graph.add_node(node_id, type_name, params or {}, (0, self.y))
        for port, source in enumerate(sources):
            self.graph.connect(source, node_id, 0, port)
        return node_id


def conv(b: Builder, name: str, x: str, channels: int, stride: int = 1, kernel: int = 3) -> str:
    params = {"out_channels": channels, "kernel_size": kernel, "stride": stride, "padding": kernel // 2, "bias": False}
    return b.add(name, "Conv2d", params, x)


def block(b: Builder, name: str, x: str, channels: int, downsample: bool) -> str:
    """conv-bn-relu-conv-bn, plus the skip (a 1x1 stride-2 conv when downsampling), Add, ReLU."""
    stride = 2 if downsample else 1
    h = conv(b, f"{name}_conv1", x, channels, stride)
    h = b.add(f"{name}_bn1", "BatchNorm2d", {}, h)
    h = b.add(f"{name}_relu1", "ReLU", {}, h)
    h = conv(b, f"{name}_conv2", h, channels)
    h = b.add(f"{name}_bn2", "BatchNorm2d", {}, h)
    skip = conv(b, f"{name}_skip", x, channels, stride, kernel=1) if downsample else x
    h = b.add(f"{name}_add", "Add", {}, h, skip)
    return b.add(f"{name}_relu2", "ReLU", {}, h)


def resnet_graph() -> Graph:
    b = Builder()
    x = b.add("image", "Input", {"shape": [3, 64, 64], "dtype": "float32"})
    x = conv(b, "stem_conv", x, STAGES[0][0])
    x = b.add("stem_bn", "BatchNorm2d", {}, x)
    x = b.add("stem_relu", "ReLU", {}, x)
    for s, (channels, identity_blocks) in enumerate(STAGES):
        if s > 0:
            x = block(b, f"s{s}_down", x, channels, downsample=True)
        for i in range(identity_blocks):
            x = block(b, f"s{s}_b{i}", x, channels, downsample=False)
    x = b.add("pool", "GlobalAvgPool", {}, x)
    x = b.add("drop", "Dropout", {"p": 0.2}, x)
    x = b.add("fc", "Linear", {"out_features": 10}, x)
    b.add("logits", "Output", {}, x)
    return b.graph


def _project(nodes: list[dict], edges: list[dict]) -> dict:
    return {"format": FORMAT, "version": VERSION, "name": "large", "graph": {"nodes": nodes, "edges": edges}}


def chain_project(n: int) -> dict:
    """A project document: Input [8] -> ReLU x (n - 2) -> Output (n nodes, one long path)."""
    ids = ["x", *(f"relu{i}" for i in range(n - 2)), "y"]
    types = ["Input", *["ReLU"] * (n - 2), "Output"]
    nodes = [{"id": i, "type": t, "params": {}, "pos": [0, 80 * k]} for k, (i, t) in enumerate(zip(ids, types))]
    nodes[0]["params"] = {"shape": [8]}
    return _project(nodes, [{"source": a, "target": b} for a, b in zip(ids, ids[1:])])


def fanout_project(n: int) -> dict:
    """A project document: one Input [8] feeding n - 3 ReLUs, all summed by one Add -> Output."""
    k = n - 3
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [8]}, "pos": [0, 0]}]
    nodes += [{"id": f"relu{i}", "type": "ReLU", "params": {}, "pos": [80 * i, 120]} for i in range(k)]
    nodes += [{"id": "add", "type": "Add", "params": {}, "pos": [0, 240]}, {"id": "y", "type": "Output", "pos": [0, 360]}]
    edges = [{"source": "x", "target": f"relu{i}"} for i in range(k)]
    edges += [{"source": f"relu{i}", "target": "add", "target_port": i} for i in range(k)]
    return _project(nodes, [*edges, {"source": "add", "target": "y"}])


LARGE_GRAPHS = {"chain": chain_project, "fan-out": fanout_project}


# ---------------------------------------------------------------------------------------
# measurements


def summary(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    ms = sorted(s * 1e3 for s in samples)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return statistics.median(ms), p95


CPU_TIMES: dict[int, list[float]] = {}  # id(wall samples) -> the same runs' thread CPU time


def timed(fn, reps: int) -> list[float]:
    """Wall-clock seconds of each run (time.perf_counter); the thread's CPU time of the
    same runs is kept aside, as a check on a shared, busy machine."""
    samples, cpu = [], []
    for i in range(reps):
        gc.collect()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    CPU_TIMES[id(samples)] = cpu
    return samples


def cold(graph: Graph, reps: int) -> list[float]:
    def run(i):
        shapes._memo.clear()  # a cold start: nothing memoised yet
        result = ShapeInference(graph).result()
        assert result.ok, result.errors

    return timed(run, reps)


def edits(graph: Graph, si: ShapeInference, reps: int, sizes) -> list[float]:
    def run(i):
        size = sizes(i)
        graph.set_params("image", {"shape": [3, size, size], "dtype": "float32"})
        result = si.result()
        assert result.ok and result.output("image") == TensorInfo((3, size, size)), result.errors

    return timed(run, reps)


def noop_edits(graph: Graph, si: ShapeInference, reps: int) -> list[float]:
    def run(i):
        graph.set_params("drop", {"p": 0.2 + (i + 1) * 1e-4})
        result = si.result()
        assert result.ok, result.errors

    return timed(run, reps)


def meta_pass(graph: Graph, reps: int) -> tuple[list[float], list[float]]:
    """Every layer run on meta tensors, in topological order: (build + move + forward,
    forward of prebuilt meta modules)."""
    catalog = graph.catalog
    result = infer_shapes(graph)
    assert result.ok, result.errors
    order = [n for n in result.order if graph.nodes[n].type != "Output"]
    sources = {n: [(e.source, e.source_port) for e in graph.in_edges(n)] for n in order}
    resolved = result.resolved

    def run(prebuilt: dict | None):
        values: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for node_id in order:
                node = graph.nodes[node_id]
                if node.type == "Input":
                    info = result.outputs[node_id][0]
                    values[node_id] = torch.empty(info.full(2), device="meta")
                    continue
                if prebuilt is not None:
                    module = prebuilt[node_id]
                else:
                    infos = [result.outputs[s][p] for s, p in sources[node_id]]
                    module = catalog.get(node.type).build(infos, resolved[node_id]).to("meta").eval()
                values[node_id] = module(*(values[s] for s, _ in sources[node_id]))
        return values

    values = run(None)
    for node_id, tensor in values.items():  # the meta pass agrees with the formulas
        assert tuple(tensor.shape[1:]) == result.outputs[node_id][0].shape, node_id
    prebuilt = {
        n: catalog.get(graph.nodes[n].type)
        .build([result.outputs[s][p] for s, p in sources[n]], resolved[n])
        .to("meta")
        .eval()
        for n in order
        if graph.nodes[n].type != "Input"
    }
    full = timed(lambda i: run(None), reps)
    forward = timed(lambda i: run(prebuilt), reps)
    return full, forward


def load_and_validate(path: Path, nodes: int):
    """What `workbench validate` does after start-up: read the file, infer every shape."""
    project = load_project(path)
    result = infer_shapes(project.graph)
    assert len(project.graph) == nodes and result.ok, result.errors[:3]
    return result


def large_graphs(reps: int, folder: Path) -> list[tuple[str, int, list[float]]]:
    """(kind, nodes, seconds of each load + validate) for every graph of (e)."""
    load_and_validate(_write(folder / "warm.wbproj", chain_project(10)), 10)  # catalog built, imports done
    rows = []
    for kind, build in LARGE_GRAPHS.items():
        for n in LARGE_SIZES:
            path = _write(folder / f"{kind}_{n}.wbproj", build(n))
            rows.append((kind, n, timed(lambda i: load_and_validate(path, n), reps)))
    return rows


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def print_large(rows, reps: int) -> float:
    """The (e) table; returns load_20k_s (the worse median at the largest size)."""
    print(f"\n(e) load + validate from a project file, {reps} repetitions")
    header = f"{'graph':<10} {'nodes':>7} {'median s':>9} {'p95 s':>8} {'CPU median s':>13} {'s / 1k nodes':>13}"
    print(header)
    print("-" * len(header))
    for kind, n, samples in rows:
        med, p95 = (v / 1e3 for v in summary(samples))
        cpu = summary(CPU_TIMES[id(samples)])[0] / 1e3
        print(f"{kind:<10} {n:>7} {med:>9.3f} {p95:>8.3f} {cpu:>13.3f} {med / (n / 1e3):>13.4f}")
    print("-" * len(header))
    worst = max(summary(s)[0] / 1e3 for _, n, s in rows if n == LARGE_SIZES[-1])
    verdict = "within" if worst <= LOAD_BUDGET_S else "OVER"
    print(f"load + validate at {LARGE_SIZES[-1]:,} nodes: {worst:.3f} s (worse of the two), {verdict} the "
          f"{LOAD_BUDGET_S:g} s budget")
    return worst


def large_figures(rows, worst: float) -> dict:
    figures = {f"load_{kind.replace('-', '')}_{n // 1000}k_s": round(summary(s)[0] / 1e3, 3) for kind, n, s in rows}
    return {**figures, "load_20k_s": round(worst, 3), "load_budget_s": LOAD_BUDGET_S}


def profile_edit(graph: Graph, si: ShapeInference, reps: int, first_size: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(reps):
        size = first_size + 32 * i
        graph.set_params("image", {"shape": [3, size, size], "dtype": "float32"})
        si.result()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"workbench[/\\]core", 25)
    out.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=50, help="repetitions of each measurement (default 50)")
    parser.add_argument("--meta-reps", type=int, default=20, help="repetitions of the (slow) meta pass (default 20)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the edit even within budget")
    parser.add_argument("--large-reps", type=int, default=3, help="repetitions of each large-graph load (default 3)")
    parser.add_argument("--large-only", action="store_true", help="only (e), the large-graph load + validate")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        large = large_graphs(args.large_reps, Path(folder))
    if args.large_only:
        worst = print_large(large, args.large_reps)
        print(json.dumps({"name": "shape_inference", **large_figures(large, worst)}))
        return 0

    graph = resnet_graph()
    assert len(graph) == NODES, len(graph)
    result = infer_shapes(graph)
    assert result.ok, result.errors
    assert result.output("pool") == TensorInfo((STAGES[-1][0],))

    cold_s = cold(graph, args.reps)

    shapes._memo.clear()
    si = ShapeInference(graph)
    si.result()
    # (b) a size never seen in this run each time, +32 so every stage's size changes
    edit_s = edits(graph, si, args.reps, lambda i: 64 + 32 * (i + 1))
    fresh = infer_shapes(graph.copy())
    assert si.result().outputs == fresh.outputs, "incremental inference disagrees with a fresh one"
    # (b') toggling between two sizes: after the first two, every node hits the memo
    memo_s = edits(graph, si, args.reps, lambda i: 64 if i % 2 else 96)
    graph.set_params("image", {"shape": [3, 64, 64], "dtype": "float32"})
    si.result()
    noop_s = noop_edits(graph, si, args.reps)
    meta_s, meta_fwd_s = meta_pass(graph, args.meta_reps)

    rows = [
        ("(a) cold: full inference, empty memo", cold_s),
        ("(b) edit: Input H/W -> all 300 re-inferred", edit_s),
        ("(b') same edit, memo hits (undo/redo)", memo_s),
        ("(c) no-op edit: Dropout p", noop_s),
        ("(d) meta: build + .to(meta) + forward", meta_s),
        ("(d') meta: forward only, prebuilt", meta_fwd_s),
    ]
    print(f"shape inference, {len(graph)}-node ResNet-style graph, {args.reps} repetitions ({args.meta_reps} for meta) "
          f"(torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
    header = f"{'measurement':<46} {'median ms':>10} {'p95 ms':>9} {'CPU median ms':>14}"
    print(header)
    print("-" * len(header))
    for label, samples in rows:
        med, p95 = summary(samples)
        cpu = summary(CPU_TIMES[id(samples)])[0]
        print(f"{label:<46} {med:>10.3f} {p95:>9.3f} {cpu:>14.3f}")
    print("-" * len(header))
    edit_ms, edit_p95 = summary(edit_s)
    meta_ms = summary(meta_s)[0]
    verdict = "within" if edit_ms <= BUDGET_MS else "OVER"
    print(f"edit: {edit_ms:.3f} ms median, {verdict} the {BUDGET_MS:g} ms budget; "
          f"meta / edit = {meta_ms / edit_ms:.1f}x")
    if edit_ms > BUDGET_MS or args.profile:
        print("\nwhere the edit's time goes (cProfile, 20 edits):")
        print(profile_edit(graph, si, 20, 64 + 32 * (args.reps + 10)))
    worst = print_large(large, args.large_reps)
    print(json.dumps({
        "name": "shape_inference",
        "nodes": len(graph),
        "edit_ms": round(edit_ms, 3),
        "edit_p95_ms": round(edit_p95, 3),
        "noop_edit_ms": round(summary(noop_s)[0], 3),
        "cold_ms": round(summary(cold_s)[0], 3),
        "meta_ms": round(meta_ms, 3),
        "meta_forward_ms": round(summary(meta_fwd_s)[0], 3),
        "ratio": round(meta_ms / edit_ms, 2),
        "budget_ms": BUDGET_MS,
        **large_figures(large, worst),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
