"""`workbench sweep`: run a project's search section as an Optuna study, or report on one.

    workbench sweep PROJECT [--trials N] [--timeout 30m] [--workers K] [--storage URL] [--study NAME] [--json]
    workbench sweep [PROJECT] --report STUDY [--storage URL] [--json]

With K > 1 the command starts K worker processes (`workbench sweep PROJECT --worker ...`),
each joining the same storage, each pinned to one GPU when there are several; the same
command on another machine with the same --storage URL joins the study too. Ctrl-C or
SIGTERM stops the workers cleanly (running trials end as failed: "stopped"); running the
command again continues the study. Importing this module costs nothing: Optuna and torch
load inside the functions.

Exit status: 0 the study has a completed trial, 3 none completed, 130 stopped, 2 a mistake.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["SweepError", "add_arguments", "sweep"]

EXIT_OK, EXIT_NONE_COMPLETED, EXIT_STOPPED = 0, 3, 130


class SweepError(Exception):
    """A mistake the user can fix (the CLI prints it as one `error:` line, exit 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Run the project's search section as an Optuna study: each trial trains a normal run "
                          "folder, weak trials are pruned per epoch, and any number of processes or machines "
                          "sharing --storage join the same study. Exit status: 0 the study has a completed trial, "
                          "3 none completed, 130 stopped (run it again to continue), 2 a mistake.")
    parser.add_argument("file", nargs="?", help="a .wbproj project file with a search section")
    parser.add_argument("--trials", type=int, metavar="N", help="trials the study should hold (default: the search section's)")
    parser.add_argument("--timeout", metavar="DURATION", help="start no trial after this long, e.g. 90s, 30m, 2h (a running one finishes)")
    parser.add_argument("--workers", type=int, metavar="K", help="worker processes on this machine (default: the search section's)")
    parser.add_argument("--storage", metavar="URL", help="Optuna storage URL: sqlite:///PATH.db or postgresql://... "
                        "(default: PROJECT's folder/<stem>.sweep.db)")
    parser.add_argument("--study", metavar="NAME", help="the study name (default: the project's name)")
    parser.add_argument("--runs-dir", metavar="DIR", help="folder that holds the trials' run folders (default: the project's)")
    parser.add_argument("--report", metavar="STUDY", help="print the study's trials and parameter importances")
    parser.add_argument("--json", action="store_true", help="print one JSON object per trial, then the report as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a process the command started
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)  # time.time() after which no trial starts
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # which of the started workers
    parser.add_argument("--project-path", help=argparse.SUPPRESS)  # the GUI's snapshot stands for this file


def sweep(args, load) -> int:
    """`load(path)` reads a project the CLI's way (plugins, user errors)."""
    if args.report:
        return _report(args, load)
    if not args.file:
        raise SweepError("give the PROJECT to sweep (or --report STUDY to see a study)")
    project = load(args.file)
    if args.project_path:
        project.path = Path(args.project_path)
    spec = _spec(project, args)
    storage = args.storage or _default_storage(project)
    name = args.study or project.name
    from workbench.search.study import StudyError, fail_orphans, open_study

    try:
        study = open_study(spec, storage, name, worker=args.worker_index or 0)
    except StudyError as exc:
        raise SweepError(str(exc)) from None
    if args.worker:
        return _work(study, spec, project, args, args.deadline)
    fail_orphans(study)
    deadline = time.time() + spec.timeout if spec.timeout else None
    if not args.json:
        print(f"study {name!r} in {_shown(storage)}: {len(study.trials)} trial(s) so far; running until it holds "
              f"{spec.trials}" + (f", for at most {spec.timeout:g}s" if spec.timeout else "")
              + f" ({spec.workers} worker(s); see it with: optuna-dashboard {_shown(storage)})", flush=True)
    if spec.workers == 1:
        code = _work(study, spec, project, args, deadline)
    else:
        code = _spawn(args, spec, storage, name, deadline)
    return _finish(study, args, code)


def _spec(project, args):
    from workbench.search.space import parse_duration, read_search

    spec, problems = read_search(project)
    if spec is None:
        if len(problems) == 1:
            raise SweepError(_problem(problems[0]))
        for p in problems:
            print(_problem(p), file=sys.stderr)
        raise SweepError(f"the search section has {len(problems)} problems (listed above)")
    if args.trials is not None:
        if not 1 <= args.trials <= 100_000:
            raise SweepError(f"--trials must be from 1 to 100000, got {args.trials}")
        spec.trials = args.trials
    if args.workers is not None:
        if not 1 <= args.workers <= 64:
            raise SweepError(f"--workers must be from 1 to 64, got {args.workers}")
        spec.workers = args.workers
    if args.timeout is not None:
        spec.timeout = parse_duration(args.timeout)
        if spec.timeout is None:
            raise SweepError(f"--timeout must be a duration such as 90s, 30m or 2h, got {args.timeout!r}")
    return spec


def _problem(d) -> str:
    where = f"{d.field}: " if d.field else ""
    return f"{where}{d.message}"


def _default_storage(project) -> str:
    from workbench.search.study import default_storage

    if project.path is None:
        raise SweepError("the project has no file: save it first (the study is kept beside it)")
    return default_storage(project.path)


def _work(study, spec, project, args, deadline: float | None) -> int:
    """Run trials in this process until the study is full, the deadline passes or a signal stops it."""
    from workbench.search.runner import run_worker
    from workbench.training.control import RunControl
    from workbench.training.device import cpu_threads

    control = RunControl()
    previous = _stop_on_signals(control)

    def show(outcome) -> None:
        if args.json:
            print(json.dumps(outcome.to_json()), flush=True)
            return
        value = "" if outcome.value is None else f"  {spec.metric} {outcome.value:.4g}"
        params = " ".join(f"{k.rsplit('.', 1)[-1]}={_num(v)}" for k, v in outcome.params.items())
        why = f"  {outcome.reason}" if outcome.state != "complete" and outcome.reason else ""
        print(f"trial {outcome.number} {outcome.state}{value}  {params}  {outcome.seconds:.1f}s{why}", flush=True)

    try:
        run_worker(study, spec, project, trials=spec.trials, deadline=deadline, control=control,
                   runs_dir=Path(args.runs_dir) if args.runs_dir else None,
                   num_threads=args.threads or cpu_threads(1, reserve=1), on_trial=show)  # as `workbench train`
    except KeyboardInterrupt:
        return EXIT_STOPPED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return EXIT_STOPPED if control.stop_requested else EXIT_OK


def _spawn(args, spec, storage: str, name: str, deadline: float | None) -> int:
    """K worker processes on this machine, each in its own session (a Ctrl-C reaches them once,
    through this process), each on its own GPU when there are several."""
    from workbench.search.gpus import worker_environments

    command = [sys.executable, "-m", "workbench.cli", "sweep", str(Path(args.file).resolve()), "--worker",
               "--storage", storage, "--study", name, "--trials", str(spec.trials)]
    for flag, value in (("--deadline", deadline), ("--runs-dir", args.runs_dir), ("--project-path", args.project_path)):
        if value is not None:
            command += [flag, str(value)]
    if args.json:
        command.append("--json")
    envs = worker_environments(spec.workers)
    children = [subprocess.Popen(command + ["--threads", str(env.pop("_THREADS")), "--worker-index", str(i)], env=env,
                                 start_new_session=True) for i, env in enumerate(envs)]
    stopped = []

    def forward(signum, frame):
        stopped.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM if len(stopped) == 1 else signal.SIGKILL)

    previous = {s: signal.signal(s, forward) for s in _SIGNALS}
    try:
        codes = [child.wait() for child in children]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stopped or EXIT_STOPPED in codes:
        return EXIT_STOPPED
    bad = [c for c in codes if c not in (EXIT_OK, EXIT_STOPPED)]
    if bad:
        print(f"warning: {len(bad)} worker(s) ended with status {', '.join(map(str, bad))}", file=sys.stderr)
    return EXIT_OK


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _stop_on_signals(control) -> dict:
    """First signal: the running trial stops after its batch and is recorded as stopped. A second: at once."""
    def handler(signum, frame):
        if control.stop_requested:
            raise KeyboardInterrupt
        control.stop(by=signal.Signals(signum).name)

    previous = {}
    for signum in _SIGNALS:
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread
            break
    return previous


def _finish(study, args, code: int) -> int:
    from workbench.search.report import format_report, report_json

    if args.json:
        print(json.dumps({"event": "report", **report_json(study)}))
    else:
        print(format_report(study))
        if code == EXIT_STOPPED:
            print(f"stopped; continue the study with: workbench sweep {args.file}"
                  + (f" --storage {_shown(args.storage)}" if args.storage else "")
                  + (f" --study {args.study}" if args.study else ""))
    if code == EXIT_STOPPED:
        return code
    from optuna.trial import TrialState

    return EXIT_OK if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) else EXIT_NONE_COMPLETED


def _report(args, load) -> int:
    storage = args.storage
    if storage is None:
        if not args.file:
            raise SweepError("--report needs --storage URL, or the PROJECT whose <stem>.sweep.db holds the study")
        storage = _default_storage(load(args.file))
        if not Path(storage[len("sqlite:///"):]).is_file():
            raise SweepError(f"no study database at {storage[len('sqlite:///'):]} (run workbench sweep {args.file} first)")
    import optuna

    from workbench.search.report import format_report, report_json
    from workbench.search.study import StudyError, storage_of

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=args.report, storage=storage_of(storage))
    except StudyError as exc:
        raise SweepError(str(exc)) from None
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage_of(storage))]
        raise SweepError(f"no study named {args.report!r} in {_shown(storage)} (it has: "
                         f"{', '.join(names) or 'none'})") from None
    print(json.dumps(report_json(study)) if args.json else format_report(study))
    return EXIT_OK


def _shown(url: str) -> str:
    """The URL without its password, fit to print."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return url


def _num(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
