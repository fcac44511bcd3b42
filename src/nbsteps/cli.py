"""The `nbsteps` command: parse the arguments, make one call, turn the outcome into an exit code."""

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import asdict

from nbsteps.commands import export as export_command
from nbsteps.commands import runs, scaffold
from nbsteps.commands import sweep as sweep_command
from nbsteps.commands import worker as worker_command
from nbsteps.errors import EXIT_FAILED, NbstepsError
from nbsteps.execute import Progress, RunOptions
from nbsteps.guard.options import add_guard_arguments, read_guard_request, resolve_guard
from nbsteps.notebook import block_slow_optional_imports, read_notebook
from nbsteps.parameters import RUNNER_PARAMETERS, parse_assignment
from nbsteps.pipeline import run_steps
from nbsteps.project import load_project
from nbsteps.records import read_latest_records

log = logging.getLogger("nbsteps")


def build_parser() -> argparse.ArgumentParser:
    folders = argparse.ArgumentParser(add_help=False)
    folders.add_argument("--project", help="project root (default: the folder with pipeline.yaml"
                         " at or above the current one; env NBSTEPS_PROJECT)")
    folders.add_argument("--data-dir", help="data folder (env NBSTEPS_DATA_DIR; default data/)")
    folders.add_argument("--outputs-dir", help="executed notebooks and run records "
                         "(env NBSTEPS_OUTPUTS_DIR; default outputs/)")
    folders.add_argument("--logs-dir", help="run logs (env NBSTEPS_LOGS_DIR; default logs/)")

    parser = argparse.ArgumentParser(
        prog="nbsteps", description="Run a pipeline of parameterized Jupyter notebooks.",
        epilog="exit codes: 0 success, 1 a step failed, 2 bad usage or parameters, "
        "3 an input is missing, 4 the kernel died, 130 cancelled",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", parents=[folders], help="run steps in graph order")
    run.add_argument("steps", nargs="+", metavar="STEP", help="step names, or `all`")
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                     help="override a parameter (STEP.NAME=VALUE when several steps run)")
    run.add_argument("--force", action="store_true", help="run even if the outputs are current")
    run.add_argument("--upstream", action="store_true",
                     help="first run (or skip, if up to date) every step these depend on")
    run.add_argument("-j", "--jobs", type=job_count, default=1, metavar="N",
                     help="run up to N independent steps side by side (default 1)")
    sweep_command.add_engine_arguments(run)

    params = commands.add_parser("params", parents=[folders], help="list a step's parameters")
    params.add_argument("step")
    params.add_argument("--json", action="store_true", help="machine-readable output")

    status = commands.add_parser("status", parents=[folders], help="latest run of each step")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    dashboard = commands.add_parser("dashboard", parents=[folders], help="serve the dashboard")
    dashboard.add_argument("--port", type=int, default=8866)
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default: this machine only)")
    dashboard.add_argument("--no-browser", action="store_true")
    add_guard_arguments(dashboard)
    scaffold.add_parsers(commands)
    runs.add_parsers(commands, [folders])
    sweep_command.add_parser(commands, [folders])
    worker_command.add_parser(commands, [folders])
    export_command.add_parser(commands, [folders])
    return parser


def job_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of steps, 1 or more; got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    block_slow_optional_imports()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # The run log keeps cell output and kernel chatter; the terminal shows nbsteps' own lines.
    # papermill's warnings repeat what nbsteps checked already (parameter names, the
    # parameters cell), and would flag annotated parameters (`source: str | list`) unknown.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    try:
        if args.command in scaffold.COMMANDS:  # they make or grow a project: none to load
            return scaffold.run_command(args)
        project = load_project(args.project, args.data_dir, args.outputs_dir, args.logs_dir)
        commands = {"run": command_run, "params": command_params, "status": command_status,
                    "dashboard": command_dashboard, "sweep": sweep_command.run,
                    "worker": worker_command.run, "export": export_command.run}
        commands |= runs.COMMANDS
        return commands[args.command](project, args)
    except NbstepsError as error:
        print(f"nbsteps: error: {error}", file=sys.stderr)
        return error.exit_code


def command_run(project, args) -> int:
    overrides = dict(parse_assignment(text) for text in args.param)
    cancel = threading.Event()
    install_cancel_handlers(cancel)
    if args.engine == "dask":
        return sweep_command.run_on_dask(project, args, overrides, cancel)
    options = RunOptions(force=args.force, cancel=cancel, on_progress=print_progress,
                         upstream=args.upstream, jobs=args.jobs)
    records = run_steps(project, args.steps, overrides, options)
    last = records[-1]
    if last.error:
        print(f"nbsteps: {last.error}", file=sys.stderr)
    return last.exit_code if last.exit_code is not None else EXIT_FAILED


def install_cancel_handlers(cancel: threading.Event) -> None:
    """Ctrl-C or `docker stop` (SIGTERM) cancels the run: the kernel is stopped, the record
    says cancelled, partial outputs are removed, and the command exits 130."""

    def handle(signum, frame):
        log.warning("%s received: cancelling the run", signal.Signals(signum).name)
        cancel.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def print_progress(progress: Progress) -> None:
    print(f"  {progress.step}: cell {progress.cell}/{progress.cells} "
          f"({progress.elapsed_s:.1f} s)", file=sys.stderr, flush=True)


def command_params(project, args) -> int:
    notebook = read_notebook(project.step(args.step).notebook)
    shown = [p for p in notebook.parameters.values() if p.name not in RUNNER_PARAMETERS]
    if args.json:
        print(json.dumps([asdict(p) | {"valid": p.describe()} for p in shown], indent=2))
        return 0
    if not notebook.has_parameters_cell:
        print(f"{args.step} takes no parameters: {notebook.path.name} has no cell tagged "
              "`parameters`; tag one to give it parameters (its assignments become the "
              "defaults that -p and params files override)")
        return 0
    width = max((len(p.name) for p in shown), default=4)
    for p in shown:
        print(f"{p.name:<{width}}  {p.describe():<24} default {p.default!r:<12} {p.help}")
    return 0


def command_status(project, args) -> int:
    latest = read_latest_records(project.folders.outputs, list(project.steps))
    if args.json:
        print(json.dumps({step: asdict(r) if r else None for step, r in latest.items()},
                         indent=2))
        return 0
    for step, record in latest.items():
        if record is None:
            print(f"{step:<12} never run")
            continue
        duration = f"{record.duration_s:.1f} s" if record.duration_s is not None else "-"
        detail = record.error or record.reason or ""
        print(f"{step:<12} {record.status:<10} {record.started[:19]}  {duration:>8}  "
              f"{record.run_id}  {detail}")
        print(f"{'':<12} {record.html}")
    return 0


def command_dashboard(project, args) -> int:
    from nbsteps.dashboard.server import serve_dashboard  # voila is an optional dependency

    guard = resolve_guard(read_guard_request(args))
    return serve_dashboard(project, host=args.host, port=args.port, open_browser=False,
                           guard=guard)


if __name__ == "__main__":
    sys.exit(main())
