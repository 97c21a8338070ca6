"""The `workbench` command: everything the GUI does, headless.

Exit status: 0 success, 1 the graph has errors (diagnostics printed), 2 a user mistake
(one `error:` line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from workbench.core.project import Project, ProjectError, load_project

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """A mistake the user can fix; printed as one `error:` line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors follow the same rule
        self.exit(EXIT_USAGE, f"error: {message} (see '{self.prog} --help')\n")


def _load(path: str) -> Project:
    """The project; plugins (torch) are loaded only when it names a layer type they may provide."""
    from workbench.plugin_demand import unknown_types

    try:
        project = load_project(path)
        if unknown_types(project.graph):
            _load_plugins()
            project = load_project(path)
        return project
    except ProjectError as exc:
        raise UserError(str(exc)) from None


def _load_plugins() -> None:
    """Plugin layers first, so projects using them open; a broken plugin is skipped."""
    from workbench.plugins import load_plugins

    for failure in load_plugins().failed:
        print(f"warning: plugin {failure.source} not loaded: {failure.error} (see 'workbench plugins')", file=sys.stderr)


def _print_diagnostics(diagnostics, stream) -> None:
    from workbench.core.text import shorten

    for d in diagnostics:
        where = shorten(d.node_id or "model", 80)
        print(f"{where}: {d.severity}: {shorten(d.text, 1000)}", file=stream)


def _memory_warnings(project: Project, summary) -> list:
    """Warnings when training this model would need most of this machine's memory."""
    from workbench.core.size_budget import memory_warnings

    training = project.training if isinstance(project.training, dict) else {}
    return memory_warnings(summary.memory, training.get("optimizer"))


def cmd_summary(args) -> int:
    from workbench.core.shapes import infer_shapes
    from workbench.data.facts import project_graph
    from workbench.core.summary import summarize

    from workbench.core.lm_size import token_model_size
    from workbench.data.facts import data_facts
    from workbench.data.paths import data_base_dir

    project = _load(args.file)
    facts = data_facts(project.data, data_base_dir(project.path))
    graph = project_graph(project, facts)
    result = infer_shapes(graph)
    if result.errors:
        _print_diagnostics(result.diagnostics, sys.stderr)
        return EXIT_DIAGNOSTICS
    summary = summarize(graph, result)
    warnings = _memory_warnings(project, summary)
    size = token_model_size(graph, result, summary, facts.get("corpus_tokens"))
    if args.json:
        doc = summary.to_json(project.training)
        if size is not None:
            doc["token_model"] = size.to_json()
        print(json.dumps(doc))
        _print_diagnostics(warnings, sys.stderr)
    else:
        print(f"{project.name}")
        print(summary.table(project.training))
        for line in size.lines() if size is not None else ():
            print(line)
        _print_diagnostics([*result.diagnostics, *warnings], sys.stdout)
    return EXIT_OK


def cmd_validate(args) -> int:
    from workbench.core.shapes import infer_shapes
    from workbench.data.facts import project_graph
    from workbench.core.summary import summarize

    project = _load(args.file)
    graph = project_graph(project)
    result = infer_shapes(graph)
    diagnostics = result.diagnostics
    if not result.errors:
        diagnostics = [*diagnostics, *_memory_warnings(project, summarize(graph, result))]
    _print_diagnostics(diagnostics, sys.stdout)
    if result.errors:
        return EXIT_DIAGNOSTICS
    print(f"{project.name}: no errors ({len(diagnostics)} warning(s))")
    return EXIT_OK


def cmd_code(args) -> int:
    from workbench.core.codegen import codegen
    from workbench.data.facts import project_graph
    from workbench.core.compile import CompileError
    from workbench.core.project import atomic_write_text

    project = _load(args.file)
    try:
        source = codegen(project_graph(project), project.name)
    except CompileError as exc:
        print(f"{exc.node_id or 'model'}: error: {exc.reason}", file=sys.stderr)
        return EXIT_DIAGNOSTICS
    if args.output:
        from workbench.export.staging import folder_problem

        target = Path(args.output)
        problem = folder_problem(target.parent)
        try:
            if problem is None:
                atomic_write_text(target, source)
        except OSError as exc:
            problem = exc.strerror or str(exc)
        if problem is not None:
            raise UserError(f"cannot write {args.output}: {problem}")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(source)
    return EXIT_OK


def cmd_train(args) -> int:
    channel = None
    if args.events:  # started by the GUI: the run's settings, callbacks and control come over this
        from workbench.training.event_channel import ChannelError, join

        try:
            channel = join(args.events)  # before torch is imported, so the GUI hears from us at once
        except ChannelError as exc:
            raise UserError(str(exc)) from None
    from workbench.training import commands
    from workbench.training.session import SetupError

    project = _load(args.file)
    if args.download:
        from workbench.data import DataError
        from workbench.data.download_console import download_for

        try:
            download_for(project)
        except DataError as exc:
            raise UserError(str(exc)) from None
    try:
        return commands.train(project, epochs=args.epochs, batch_size=args.batch_size, device=args.device,
                              runs_dir=args.runs_dir, resume=args.resume, as_json=args.json,
                              max_steps=args.max_steps, channel=channel,
                              tensorboard=False if args.no_tensorboard else None)
    except SetupError as exc:
        raise UserError(str(exc)) from None


def cmd_runs(args) -> int:
    from workbench.training import commands
    from workbench.training.graph_io import SetupError

    try:
        if args.diff:
            if args.dir or args.csv:
                raise UserError("--diff compares two run folders; give no DIR or --csv with it")
            return commands.runs_diff(*args.diff, as_json=args.json)
        return commands.runs(args.dir, as_json=args.json, csv_file=args.csv)
    except SetupError as exc:
        raise UserError(str(exc)) from None


def cmd_export(args) -> int:
    from workbench.export import ExportError, export

    project = _load(args.file)
    try:
        report = export(
            project,
            args.format,
            args.output,
            weights=args.weights,
            opset=args.opset,
            static_batch=args.static_batch,
            onnx_exporter=args.onnx_exporter,
        )
    except ExportError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # the disk filled up, a folder vanished or turned read-only mid-export
        raise UserError(f"cannot write {exc.filename or args.output}: {exc.strerror or exc}") from None
    print(report.text())
    if args.weights is None:
        print("warning: exported the initial weights (training.seed); pass --weights RUN to export a trained model",
              file=sys.stderr)
    if not report.ok:
        print(f"verification failed: {report.failure}", file=sys.stderr)
        return EXIT_DIAGNOSTICS
    return EXIT_OK


def cmd_plugins(args) -> int:
    from workbench.plugins import load_plugins

    print(load_plugins().text())
    return EXIT_OK


def cmd_import(args) -> int:
    from workbench.core.importer import ImportFailure, import_model, parse_shape, save_weights
    from workbench.core.project import save_project

    target = Path(args.output)
    weights = target.with_suffix(".pt")
    if args.module.lower().endswith(".onnx"):  # an ONNX file, through onnx2torch (its weights always written)
        from workbench.export.import_command import import_onnx_file

        try:
            shapes = [parse_shape(text) for text in args.input_shape] if args.input_shape else None
        except ImportFailure as exc:
            raise UserError(str(exc)) from None
        return import_onnx_file(args.module, args.output, shapes, args.name, UserError)
    try:
        shapes = [parse_shape(text) for text in (args.input_shape or ["3,224,224"])]
        result = import_model(args.module, shapes, name=args.name)
    except ImportFailure as exc:
        raise UserError(str(exc)) from None
    if args.weights:
        result.project.extra["imported"]["weights"] = weights.name
    try:
        save_project(result.project, target)
        if args.weights:
            save_weights(weights, result.state_dict)
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename or target}: {exc.strerror}") from None
    print(result.text())
    print(f"wrote {target}")
    if args.weights:
        print(f"wrote {weights} (use it with --weights)")
    return EXIT_OK if result.ok else EXIT_DIAGNOSTICS


def cmd_generate(args) -> int:
    from workbench.inference.command import ERRORS, run_generate

    return _use_model(args, run_generate, ERRORS)


def cmd_predict(args) -> int:
    from workbench.inference.predict_command import ERRORS, run_predict

    return _use_model(args, run_predict, ERRORS)


def _use_model(args, run, errors) -> int:
    """Run a trained model of the project (generate, predict); its mistakes are user errors."""
    project = _load(args.file)
    try:
        run(project, args)
    except errors as exc:
        raise UserError(str(exc)) from None
    return EXIT_OK


def cmd_sweep(args) -> int:
    from workbench.search.command import SweepError, sweep

    try:
        return sweep(args, _load)
    except SweepError as exc:
        raise UserError(str(exc)) from None


def cmd_open(args) -> int:
    if args.output is None:  # the window recovers it (ui/files.py)
        return cmd_gui(args)
    from workbench.export.open_command import open_file

    return open_file(args.file, args.output, UserError)


def cmd_draw(args) -> int:
    from workbench.ui.draw_command import draw
    from workbench.ui.graph_image import ImageError

    try:
        written = draw(_load(args.file), args.output, args.layout)
    except (ImageError, OSError) as exc:
        raise UserError(str(exc)) from None
    print(f"wrote {written}")
    return EXIT_OK


def cmd_gui(args) -> int:
    from workbench.ui.app import run_app

    return run_app(args.file)


COMMANDS: dict[str, tuple[Callable, str]] = {
    "summary": (cmd_summary, "print each node's output shape, parameters and FLOPs"),
    "validate": (cmd_validate, "check the graph and print its diagnostics"),
    "code": (cmd_code, "write the model as a standalone PyTorch source file"),
    "train": (cmd_train, "train the project headless and save a run folder"),
    "runs": (cmd_runs, "list training runs with their final metrics, write their epochs to CSV, or diff two runs"),
    "export": (cmd_export, "export to ONNX, TorchScript, torch.export, a state dict or PyTorch source, and verify it"),
    "plugins": (cmd_plugins, "list plugin layers: where they load from, what loaded, what failed and why"),
    "import": (cmd_import, "import an existing PyTorch model (traced with torch.fx) as a project"),
    "open": (cmd_open, "recover the editable project from an exported ONNX, TorchScript, .pt2 or source file"),
    "generate": (cmd_generate, "continue a prompt with a trained token model (PyTorch weights or an ONNX file)"),
    "predict": (cmd_predict, "run a trained model on your own images, audio, text or CSV rows"),
    "sweep": (cmd_sweep, "search hyperparameters and architecture with Optuna (the project's search section)"),
    "draw": (cmd_draw, "draw the graph as an SVG or PNG picture"),
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description="Model Workbench: design, train and export neural networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    summary = sub.add_parser("summary", help=COMMANDS["summary"][1])
    summary.add_argument("file", help="a .wbproj project file")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    validate = sub.add_parser("validate", help=COMMANDS["validate"][1])
    validate.add_argument("file", help="a .wbproj project file")
    code = sub.add_parser("code", help=COMMANDS["code"][1])
    code.add_argument("file", help="a .wbproj project file")
    code.add_argument("-o", "--output", help="write to this .py file instead of standard output")
    train = sub.add_parser("train", help=COMMANDS["train"][1])
    train.add_argument("file", help="a .wbproj project file")
    train.add_argument("--epochs", type=_positive_int, help="train this many epochs (default: the project's)")
    train.add_argument("--batch-size", type=_positive_int, help="samples per step (per process under torchrun)")
    train.add_argument("--max-steps", type=_positive_int, metavar="N",
                       help="end the run at optimizer step N, even mid-epoch (or after the epochs, whichever comes "
                       "first; default: the project's training.max_steps)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="where to train (default: the project's)")
    train.add_argument("--runs-dir", help="folder that holds every project's run folders (default: "
                       "$WORKBENCH_RUNS_DIR, else <project folder>/<project stem>.runs/)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue this run folder from its last checkpoint")
    train.add_argument("--json", action="store_true", help="print one JSON object per event")
    train.add_argument("--no-tensorboard", action="store_true",
                       help="write no TensorBoard event files in the run folder (default: the project's "
                       "training.tensorboard, on)")
    train.add_argument("--download", action="store_true",
                       help="first download the data set the project names if it is missing (MNIST, CIFAR-10...)")
    train.add_argument("--events", metavar="HOST:PORT", help=argparse.SUPPRESS)  # the GUI's event channel
    runs = sub.add_parser("runs", help=COMMANDS["runs"][1])
    runs.add_argument("dir", nargs="?", help="a .wbproj project (its runs, wherever they live), a runs folder, "
                      "a project's runs folder or a run folder (default: $WORKBENCH_RUNS_DIR or ./runs)")
    runs.add_argument("--json", action="store_true", help="print one JSON object per run (with --diff: the diff)")
    runs.add_argument("--csv", metavar="FILE", help="write every epoch of every run found to this CSV file")
    runs.add_argument("--diff", nargs=2, metavar=("RUN_A", "RUN_B"),
                      help="show what changed from run A to run B: settings and graph (run folders or .wbproj files)")
    export = sub.add_parser(
        "export",
        help=COMMANDS["export"][1],
        description="Export and verify. Exit status: 0 exported and verified, 1 exported but verification "
        "failed (the report says why), 2 a mistake or a node that cannot be exported (named).",
    )
    export.add_argument("file", help="a .wbproj project file")
    export.add_argument("--format", required=True, choices=["onnx", "torchscript", "pt2", "state_dict", "python"])
    export.add_argument("-o", "--output", required=True, help="the file to write, or an existing folder")
    export.add_argument(
        "--weights",
        metavar="RUN_DIR_OR_CHECKPOINT",
        help="a run folder (best.pt, else final.pt, else checkpoint.pt), a checkpoint or a state-dict file "
        "(default: initialise from the project's training.seed)",
    )
    export.add_argument("--opset", type=int, help="ONNX opset (default: the newest both exporters write natively)")
    export.add_argument("--static-batch", action="store_true", help="fix the batch dimension at 1 instead of dynamic")
    export.add_argument(
        "--onnx-exporter",
        choices=["torchscript", "dynamo"],
        default="torchscript",
        help="the ONNX exporter to try first (default: torchscript, the fast one); the other is the fallback",
    )
    sub.add_parser("plugins", help=COMMANDS["plugins"][1])
    imported = sub.add_parser(
        "import",
        help=COMMANDS["import"][1],
        description="Trace a PyTorch model with torch.fx and write it as a project: known torch.nn layers and "
        "functions become catalog layers, the rest FxModule nodes (reported). Exit status: 0 written and the "
        "compiled graph reproduces the model, 1 written but it does not (or cannot compile), 2 a mistake.",
    )
    imported.add_argument(
        "module",
        metavar="MODULE_PATH",
        help="package.module:factory (e.g. torchvision.models:resnet18) or path/to/file.py:name, where name is "
        "an nn.Module class without required arguments or a function returning a module; or an ONNX file "
        "(model.onnx: converted with onnx2torch, its weights written beside the project as OUT.pt)",
    )
    imported.add_argument(
        "--input-shape",
        action="append",
        metavar="C,H,W",
        help="per-sample input shape without the batch (default 3,224,224); repeat for each forward argument",
    )
    imported.add_argument(
        "--weights", action="store_true", help="also write the model's weights beside the project (OUT.pt)"
    )
    imported.add_argument("--name", help="project name (default: the factory's name)")
    imported.add_argument("-o", "--output", required=True, help="the .wbproj file to write")
    opened = sub.add_parser("open", help=COMMANDS["open"][1],
                            description="Open the project an export carries (or, for an ONNX file without one, "
                            "import it) in the app, or write it with -o.")
    opened.add_argument("file", help="an exported .onnx, .pt (TorchScript), .pt2 or .py file")
    opened.add_argument("-o", "--output", help="write the project here instead of opening the app")
    _add_generate(sub)
    _add_predict(sub)
    from workbench.search.command import add_arguments as add_sweep_arguments  # torch- and optuna-free

    add_sweep_arguments(sub.add_parser("sweep", help=COMMANDS["sweep"][1]))
    from workbench.ui.draw_command import add_arguments as add_draw_arguments  # Qt loads only when it draws

    add_draw_arguments(sub.add_parser("draw", help=COMMANDS["draw"][1]))
    return parser


def _add_generate(sub) -> None:
    generate = sub.add_parser("generate", help=COMMANDS["generate"][1],
                              description="Stream the model's continuation of --prompt to standard output.")
    generate.add_argument("file", help="a .wbproj project file whose Input is int64 tokens and output per-token logits")
    generate.add_argument("--weights", metavar="RUN_DIR_OR_CHECKPOINT", required=True,
                          help="a run folder (its tokenizer.json decodes) or a checkpoint inside one")
    generate.add_argument("--prompt", default="", help="the text to continue (default: empty, from the start token)")
    generate.add_argument("--max-new-tokens", type=_positive_int, default=200, help="tokens to add (default 200)")
    generate.add_argument("--temperature", type=float, default=0.8, help="0 is greedy decoding (default 0.8)")
    generate.add_argument("--top-k", type=int, default=50, help="sample among the k likeliest tokens; 0: all (default 50)")
    generate.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95; 1: off)")
    generate.add_argument("--seed", type=int, default=0, help="random seed of the sampler (default 0)")
    generate.add_argument("--onnx", metavar="MODEL.onnx", help="run this exported file in onnxruntime instead of PyTorch")
    generate.add_argument("--echo", action="store_true", help="print the prompt before the continuation")


def _add_predict(sub) -> None:
    predict = sub.add_parser(
        "predict", help=COMMANDS["predict"][1],
        description="Preprocess each INPUT exactly as the run's data source did for validation, run the model and "
        "print the top-k classes, the predicted values or the decoded sequence. INPUT is an image or audio file, "
        "a text file, a CSV file with a header naming the model's columns, or '-' for standard input (text: one "
        "per line; CSV). .pt2 and TorchScript files hold code that runs when they are loaded: pass one only "
        "if you trust where it came from (ONNX files and --weights are data and never run code).")
    predict.add_argument("file", help="the .wbproj project the model was trained from")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="files to predict on, or '-' for standard input")
    predict.add_argument("--weights", metavar="RUN_DIR_OR_CHECKPOINT", required=True,
                         help="a run folder (its preprocess.json preprocesses), a checkpoint or a state-dict file")
    artifact = predict.add_mutually_exclusive_group()
    artifact.add_argument("--onnx", metavar="MODEL.onnx", help="run this exported ONNX file in onnxruntime")
    artifact.add_argument("--pt2", metavar="MODEL.pt2", help="run this torch.export file (it runs code when loaded)")
    artifact.add_argument("--torchscript", metavar="MODEL.pt", help="run this TorchScript file (it runs code when loaded)")
    predict.add_argument("--top-k", type=_positive_int, default=5, help="classes to list per input (default 5)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per input")
    predict.add_argument("--beam", type=_positive_int, default=1, help="seq2seq: beam width (default 1, greedy)")
    predict.add_argument("--max-len", type=_positive_int, help="seq2seq: most output tokens (default: the target length)")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] not in COMMANDS and not argv[0].startswith("-") and not _names_a_file(argv[0]):
            raise UserError(f"unknown command {argv[0]!r}; commands: {', '.join(COMMANDS)}")
        if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
            gui = _Parser(prog="workbench", description="Open the Model Workbench editor.")
            gui.add_argument("file", nargs="?", help="a .wbproj project file (default: the digits example)")
            return cmd_gui(gui.parse_args(argv))
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        return COMMANDS[args.command][0](args)
    except UserError as exc:
        from workbench.core.text import shorten

        print(f"error: {shorten(str(exc), 2000)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (RecursionError, OverflowError, MemoryError) as exc:
        # Last line only: inputs are bounded where they are read (core/jsonfile.py); this keeps
        # a case those bounds missed from ending in a traceback.
        print(f"error: the input is too large or too deeply nested to process ({type(exc).__name__})", file=sys.stderr)
        return EXIT_USAGE


def _names_a_file(word: str) -> bool:
    """`workbench PROJECT` opens the editor: a word that exists, ends in .wbproj or has a folder in it."""
    import os

    from workbench.core.project import SUFFIX

    return word.endswith(SUFFIX) or os.sep in word or "/" in word or Path(word).exists()


if __name__ == "__main__":
    sys.exit(main())
