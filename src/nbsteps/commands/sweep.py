"""`nbsteps sweep STEP`: run one step once per point of a grid or a list of points."""

import argparse
import logging
import os
import threading
from pathlib import Path

from nbsteps.parameters import parse_assignment
from nbsteps.sweep.run import SweepOptions, run_sweep

log = logging.getLogger("nbsteps")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Where runs execute; shared by `sweep` and `run`."""
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local: this machine (default); dask: the Dask cluster at "
                        "--scheduler, on workers started with `nbsteps worker --step STEP`")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (env NBSTEPS_SCHEDULER)")
    add_tls_arguments(parser)


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls-ca-file", help="CA certificate the cluster's certificates are "
                        "signed with (with a tls:// scheduler address)")
    parser.add_argument("--tls-cert", help="this process's TLS certificate")
    parser.add_argument("--tls-key", help="this process's TLS private key")


def add_parser(commands, parents) -> None:
    sweep = commands.add_parser(
        "sweep", parents=parents, help="run a step once per point of a parameter grid",
        description="Run STEP once per point: every combination of the --grid values, or "
        "the grid and/or points of params/STEP.sweep.yaml. Each point is an ordinary run.")
    sweep.add_argument("step", metavar="STEP")
    sweep.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                       help="values of one parameter; repeat for more (every combination runs)")
    sweep.add_argument("--points-file", type=Path, metavar="FILE",
                       help="grid and/or points (default params/STEP.sweep.yaml)")
    sweep.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a value for every point")
    sweep.add_argument("-j", "--jobs", type=int, default=default_jobs(), metavar="N",
                       help="points at once with --engine local (default: the cores, "
                       f"{default_jobs()} here)")
    sweep.add_argument("--force", action="store_true", help="run points even if up to date")
    add_engine_arguments(sweep)


def make_engine(project, args):
    if args.engine == "dask":
        from nbsteps.engines.dask import DaskEngine, connect, wait_for_workers

        client = connect(args)
        try:  # before the sweep record is written: with no worker, nothing is recorded
            wait_for_workers(client, args.step)
        except BaseException:
            client.close()
            raise
        return DaskEngine(project, client)
    from nbsteps.engines.local import LocalEngine

    return LocalEngine(project, args.jobs)


def run_on_dask(project, args, overrides: dict, cancel: threading.Event) -> int:
    """`nbsteps run STEPS --engine dask`: the steps as tasks on the cluster, in graph order."""
    from nbsteps.engines.dask import connect, run_steps_on_cluster
    from nbsteps.execute import resolve_parameters
    from nbsteps.pipeline import select_steps, split_overrides

    steps = select_steps(project, args.steps, args.upstream)
    per_step = split_overrides(project, steps, overrides)
    for step in steps:  # every step's parameters are checked before anything is sent
        resolve_parameters(project.step(step), per_step[step])
    return run_steps_on_cluster(project, steps, per_step, args.force, connect(args), cancel)


def run(project, args) -> int:
    from nbsteps.cli import install_cancel_handlers
    from nbsteps.engines.local import POINT_THREAD

    options = SweepOptions(
        step=args.step, grid=args.grid, points_file=args.points_file,
        common=dict(parse_assignment(text) for text in args.param), force=args.force,
    )
    cancel = threading.Event()
    install_cancel_handlers(cancel)
    quiet_point_threads(POINT_THREAD)
    return run_sweep(project, options, lambda: make_engine(project, args), cancel)


def quiet_point_threads(prefix: str) -> None:
    """Each point's lines go to its own run log; the terminal shows the sweep's bar."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(lambda entry: not entry.threadName.startswith(prefix))
