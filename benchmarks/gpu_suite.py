"""The GPU check: one command for whoever next has a CUDA machine (under 6 minutes on one GPU).

    python benchmarks/gpu_suite.py [--quick] [--budget-s 330]

Sections, each in its own try/except so that one failure is recorded in the JSON and does
not hide the rest (a section that would start past the time budget is skipped and says so):

  cuda_tests     the cuda-marked tests (`pytest -m cuda`)
  throughput     digits CNN (the example's data, batch 64), cifar_resnet_block (batch 256) and
                 ResNet-18 on CIFAR-shaped random tensors (batch 256), bf16 AMP + channels_last:
                 samples/s through our Trainer vs the same network hand-written (`workbench code`)
                 in a hand-written AMP + channels_last loop, same process, same batches ->
                 "ratio" = Trainer step time / hand step time (budget <= 1.03); then both with
                 torch.compile ("ratio_compiled")
  on_gpu_data    the small-dataset path: the digits tensors are moved to the GPU whole
  telemetry      Trainer with Telemetry() (as the GUI attaches it) vs without: "telemetry_ratio"
  nan            NaN injected into one node's weights on the GPU: the run fails naming the node
  status_line    CUDA memory as the Training dock's status line shows it
  onnx           digits trained on the GPU, exported to ONNX with those weights, verified on
                 the CPU with onnxruntime (max abs diff)
  ddp            2-GPU DDP (`torchrun --nproc_per_node=2`), when two GPUs are present

Without CUDA it prints what it would run, then `{"cuda": false}`, and exits 0. The last line
is always one JSON object; paste it into the issue note.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SECTIONS = ("cuda_tests", "throughput", "on_gpu_data", "telemetry", "nan", "status_line", "onnx", "ddp")
RATIO_BUDGET = 1.03
DEVICE = "cuda"  # --device cpu: a smoke test of this script's own code on a machine without a GPU
EXAMPLES = ROOT / "resources" / "examples"
SEED = 0


def plan_text() -> str:
    return "\n".join(line for line in __doc__.splitlines()[6:22])


# ---- workloads ----------------------------------------------------------------------------------
def workloads(quick: bool):
    """(name, project, x, y, batch size) on the CPU; x in NCHW float32."""
    import torch

    from train_overhead import digits_workload
    from workbench.core.project import load_project

    out = [digits_workload()]
    g = torch.Generator().manual_seed(SEED)
    n = 2048 if quick else 8192
    cifar_x, cifar_y = torch.rand(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
    block = load_project(EXAMPLES / "cifar_resnet_block.wbproj")
    out.append(("cifar_resnet_block", block, cifar_x, cifar_y, 256))
    resnet = load_project(EXAMPLES / "transfer_resnet18.wbproj")
    for node in resnet.graph.nodes.values():
        if node.type == "Input":
            node.params["shape"] = [3, 32, 32]
    out.append(("resnet18 (CIFAR-shaped)", resnet, cifar_x, cifar_y, 256))
    return out


def _sync() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _sgd_or_adam(project, params):
    import torch

    spec = dict(project.training["optimizer"])
    kind = spec.pop("type")
    return getattr(torch.optim, kind)(params, **spec)


def _input_name(project) -> str:
    return next(n.id for n in project.graph.nodes.values() if n.type == "Input")


def hand_step_time(project, state, x, y, bs, warmup, steps, compiled: bool) -> float:
    """Seconds per step of the hand-written module in a hand-written bf16 + channels_last loop."""
    import torch
    from torch.nn import functional as F

    from train_overhead import epoch_order, hand_module

    model = hand_module(project, state).to(DEVICE).to(memory_format=torch.channels_last).train()
    opt = _sgd_or_adam(project, model.parameters())
    fwd = torch.compile(model) if compiled else model
    xs, ys = x.to(DEVICE).contiguous(memory_format=torch.channels_last), y.to(DEVICE)
    n, step, start = len(ys), 0, None
    epoch = 0
    while True:
        epoch += 1
        order = epoch_order(n, epoch).to(DEVICE)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            xb, yb = xs.index_select(0, idx), ys.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(DEVICE, dtype=torch.bfloat16):
                loss = F.cross_entropy(fwd(xb), yb)
            loss.backward()
            opt.step()
            step += 1
            if step == warmup:
                _sync()
                start = time.perf_counter()
            if step == warmup + steps:
                _sync()
                return (time.perf_counter() - start) / steps


def trainer_step_time(project, state, x, y, bs, warmup, steps, compiled: bool, callbacks=()) -> tuple[float, object]:
    """Seconds per step through workbench.training.Trainer on cuda, bf16 AMP, channels_last weights."""
    import torch

    from workbench.core.compile import compile_graph
    from workbench.core.tensors import TensorInfo
    from workbench.data.bundle import DataBundle
    from workbench.training.callbacks import Callback
    from workbench.training.config import parse_config
    from workbench.training.control import RunControl
    from workbench.training.losses import make_objective
    from workbench.training.trainer import Trainer

    from train_overhead import _Sized

    class Clock(Callback):
        def __init__(self, control):
            self.control, self.start, self.seconds = control, None, None

        def on_batch_end(self, trainer, batch, loss):
            if trainer.step == warmup:
                _sync()
                self.start = time.perf_counter()
            elif trainer.step == warmup + steps:
                _sync()
                self.seconds = (time.perf_counter() - self.start) / steps
                self.control.stop()

    torch.manual_seed(SEED)
    model = compile_graph(project.graph, project.name)
    model.load_state_dict(state)
    model = model.to(memory_format=torch.channels_last)
    per_epoch = math.ceil(len(y) / bs)
    cfg = parse_config({**project.training, "batch_size": bs, "epochs": math.ceil((warmup + steps) / per_epoch) + 1,
                        "device": DEVICE, "amp": "bf16", "seed": SEED, "num_workers": 0, "compile": compiled,
                        "tensorboard": False})
    bundle = DataBundle(train=_Sized(len(y)), val=None, task="classification", input_names=(_input_name(project),),
                        classes=[str(i) for i in range(10)],
                        train_tensors=((x.contiguous(memory_format=torch.channels_last),), y))
    objective = make_objective(cfg.loss, "classification", TensorInfo((10,)))
    control = RunControl()
    clock = Clock(control)
    trainer = Trainer(model, bundle, cfg, objective, callbacks=[clock, *callbacks], control=control)
    result = trainer.fit()
    if clock.seconds is None:
        raise RuntimeError(f"the Trainer ended {result.state} before the timed steps: {result.message}")
    return clock.seconds, trainer


def _initial_state(project):
    import torch

    from workbench.core.compile import compile_graph

    torch.manual_seed(SEED)
    return compile_graph(project.graph, project.name).state_dict()


# ---- sections -------------------------------------------------------------------------------------
def cuda_tests(ctx) -> dict:
    timeout = max(30, int(ctx["left"]() * 0.4))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", "tests"],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return {"returncode": proc.returncode, "summary": lines[-1] if lines else "",
            "failures": [line for line in lines if line.startswith(("FAILED", "ERROR"))][:20]}


def throughput(ctx) -> dict:
    out = {}
    warmup, steps = (10, 30) if ctx["quick"] else (20, 100)
    chosen = ctx["workloads"] if DEVICE == "cuda" else ctx["workloads"][:1]  # a CPU smoke test: digits only
    for name, project, x, y, bs in chosen:
        state = _initial_state(project)
        row = {"batch_size": bs}
        for compiled in (False, True):
            if compiled and ctx["left"]() < 60:
                row["compiled"] = "skipped: time budget"
                continue
            key = "compiled" if compiled else "eager"
            try:
                hand = hand_step_time(project, state, x, y, bs, warmup, steps, compiled)
                ours, _ = trainer_step_time(project, state, x, y, bs, warmup, steps, compiled)
                row[key] = {"hand_samples_per_s": round(bs / hand, 1), "trainer_samples_per_s": round(bs / ours, 1),
                            "ratio": round(ours / hand, 4)}
            except Exception as exc:  # noqa: BLE001 - record, go on with the next
                row[key] = {"error": f"{type(exc).__name__}: {exc}"}
        out[name] = row
    ratios = [r["eager"]["ratio"] for r in out.values() if isinstance(r.get("eager"), dict) and "ratio" in r["eager"]]
    compiled = [r["compiled"]["ratio"] for r in out.values()
                if isinstance(r.get("compiled"), dict) and "ratio" in r["compiled"]]
    ctx["summary"]["ratio"] = max(ratios) if ratios else None
    ctx["summary"]["ratio_compiled"] = max(compiled) if compiled else None
    return out


def on_gpu_data(ctx) -> dict:
    name, project, x, y, bs = ctx["workloads"][0]
    _, trainer = trainer_step_time(project, _initial_state(project), x, y, bs, 5, 20, False)
    inputs, targets = trainer.train_source.tensors or ((None,), None)
    where = str(targets.device) if targets is not None else "a DataLoader"
    return {"workload": name, "train_tensors_on": where, "ok": where.startswith(DEVICE)}


def telemetry(ctx) -> dict:
    from workbench.training.telemetry import Telemetry

    name, project, x, y, bs = ctx["workloads"][1 if DEVICE == "cuda" else 0]
    state = _initial_state(project)
    warmup, steps = (10, 60) if ctx["quick"] else (20, 200)
    plain, with_tel = [], []
    for _ in range(3):  # interleaved, paired
        plain.append(trainer_step_time(project, state, x, y, bs, warmup, steps, False)[0])
        with_tel.append(trainer_step_time(project, state, x, y, bs, warmup, steps, False, callbacks=[Telemetry()])[0])
    ratio = sorted(t / p for t, p in zip(with_tel, plain))[1]
    ctx["summary"]["telemetry_ratio"] = round(ratio, 4)
    return {"workload": name, "ratio": round(ratio, 4), "plain_ms": [round(p * 1e3, 3) for p in plain],
            "telemetry_ms": [round(t * 1e3, 3) for t in with_tel]}


def nan(ctx) -> dict:
    from tests.training.test_telemetry import PoisonWeights
    from workbench.training.events import EventLog
    from workbench.training.session import prepare
    from workbench.training.telemetry import Telemetry
    from workbench.core.project import load_project

    project = load_project(EXAMPLES / "digits_cnn.wbproj")
    node = next(n.id for n in project.graph.nodes.values() if n.type == "Linear")
    log = EventLog()
    session = prepare(project, overrides={"epochs": 2, "device": DEVICE}, runs_dir=ctx["tmp"] / "nan",
                      callbacks=[PoisonWeights(node, 5), Telemetry(), log])
    result = session.fit()
    named = result.failure is not None and result.failure.node_id == node
    return {"state": result.state, "node": node, "named": bool(named), "message": result.message, "ok": bool(named)}


def status_line(ctx) -> dict:
    from workbench.training.device import device_name, memory_in_use

    where = "cuda:0" if DEVICE == "cuda" else DEVICE
    memory = memory_in_use(where)
    text = f"{device_name(where)} · {memory.text if memory else '?'}"
    return {"text": text, "ok": memory is not None and memory.used > 0 and
            ("allocated" in memory.text or DEVICE != "cuda")}


def onnx(ctx) -> dict:
    from workbench.core.project import load_project
    from workbench.export import export
    from workbench.training.session import prepare

    project = load_project(EXAMPLES / "digits_cnn.wbproj")
    session = prepare(project, overrides={"epochs": 2, "device": DEVICE}, runs_dir=ctx["tmp"] / "onnx")
    result = session.fit()
    if result.state != "completed":
        return {"error": f"training ended {result.state}: {result.message}"}
    report = export(project, "onnx", ctx["tmp"] / "digits.onnx", weights=result.run_dir)
    return {"ok": report.ok, "max_abs_diff": report.max_abs_diff, "tolerance": report.tolerance,
            "verified": report.verified, "failure": report.failure}


def ddp(ctx) -> dict:
    import torch

    if torch.cuda.device_count() < 2:
        return {"skipped": f"{torch.cuda.device_count()} GPU(s)"}
    runs = ctx["tmp"] / "ddp"
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
            "workbench.cli", "train", str(EXAMPLES / "digits_cnn.wbproj"), "--epochs", "2", "--device", "cuda",
            "--runs-dir", str(runs), "--json"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=max(30, int(ctx["left"]())))
    epochs = [json.loads(line) for line in proc.stdout.splitlines()
              if line.startswith("{") and '"event": "epoch"' in line]
    last = epochs[-1] if epochs else {}
    return {"returncode": proc.returncode, "epochs": len(epochs), "val_accuracy": last.get("val_accuracy"),
            "samples_per_s": last.get("samples_per_s"), "stderr_tail": proc.stderr.splitlines()[-5:],
            "ok": proc.returncode == 0 and len(epochs) == 2}


# ---- the run ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke test of the suite itself)")
    parser.add_argument("--budget-s", type=float, default=330.0, help="skip sections that would start after this")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, help="run these sections only")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                        help="cpu: check this script's own code without a GPU (its figures mean nothing)")
    args = parser.parse_args()
    import torch

    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here; on a machine with one this runs:")
        print(plan_text())
        print(json.dumps({"name": "gpu_suite", "cuda": False}))
        return 0
    started = time.monotonic()
    summary: dict = {"name": "gpu_suite", "cuda": DEVICE == "cuda",
                     "device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu (smoke test)",
                     "gpus": torch.cuda.device_count(), "torch": torch.__version__}
    with tempfile.TemporaryDirectory(prefix="gpu-suite-") as tmp:
        os.environ.setdefault("WORKBENCH_RUNS_DIR", str(Path(tmp) / "runs"))
        ctx = {"quick": args.quick, "summary": summary, "tmp": Path(tmp),
               "left": lambda: args.budget_s - (time.monotonic() - started)}
        try:
            ctx["workloads"] = workloads(args.quick)
        except Exception as exc:  # noqa: BLE001
            ctx["workloads"] = []
            summary["workloads_error"] = f"{type(exc).__name__}: {exc}"
        sections = {"cuda_tests": cuda_tests, "throughput": throughput, "on_gpu_data": on_gpu_data,
                    "telemetry": telemetry, "nan": nan, "status_line": status_line, "onnx": onnx, "ddp": ddp}
        for name in args.only or SECTIONS:
            if ctx["left"]() <= 0:
                summary[name] = {"skipped": "time budget"}
                continue
            t0 = time.monotonic()
            print(f"== {name}", flush=True)
            try:
                summary[name] = sections[name](ctx)
            except Exception as exc:  # noqa: BLE001 - one failure must not hide the rest
                summary[name] = {"error": f"{type(exc).__name__}: {exc}",
                                 "where": traceback.format_exc().splitlines()[-3:]}
            if isinstance(summary[name], dict):
                summary[name]["seconds"] = round(time.monotonic() - t0, 1)
            print(json.dumps(summary[name], default=str)[:2000], flush=True)
            if DEVICE == "cuda":
                torch.cuda.empty_cache()
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["within_budget"] = (summary.get("ratio") is not None and summary["ratio"] <= RATIO_BUDGET and
                                (summary.get("telemetry_ratio") or 99) <= RATIO_BUDGET)
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
