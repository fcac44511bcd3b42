"""`nbsteps history [STEP]`: the runs, newest first, with why each ran and its figures."""

import json
from dataclasses import asdict

from nbsteps.commands.text import (
    format_mb,
    format_pairs,
    format_parameters,
    format_seconds,
    format_started,
    warn_unreadable,
)
from nbsteps.history import check_step, filter_runs, load_runs
from nbsteps.records import RunRecord


def add_parser(commands, parents) -> None:
    parser = commands.add_parser("history", parents=parents,
                                 help="the runs, newest first (of one step, or all)")
    parser.add_argument("step", nargs="?", metavar="STEP", help="only this step's runs")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    parser.add_argument("--status", metavar="S",
                        help="only runs with this status (succeeded, failed, skipped, ...)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(project, args) -> int:
    runs = load_runs(project, check_step(project, args.step))
    records = filter_runs(runs.records, args.status, args.limit)
    warn_unreadable(runs.problems, "not listed")
    if args.json:
        print(json.dumps([asdict(record) for record in records], indent=2))
        return 0
    if not records:
        print("no runs yet" if not args.status else f"no {args.status} runs")
        return 0
    width = max(len(record.run_id) for record in records)
    print(f"{'RUN':<{width}}  {'STATUS':<9}  {'STARTED (UTC)':<19}  {'TIME':>7}  "
          f"{'PEAK':>7}  WHY")
    for record in records:
        print_run(record, width)
    return 0


def print_run(record: RunRecord, width: int) -> None:
    print(f"{record.run_id:<{width}}  {record.status:<9}  {format_started(record.started)}  "
          f"{format_seconds(record.duration_s):>7}  {format_mb(record.peak_rss_mb):>7}  "
          f"{record.reason or ''}")
    if record.parameters:
        print(f"    parameters: {format_parameters(record.parameters)}")
    if record.metrics:
        print(f"    metrics: {format_pairs(record.metrics)}")
    if record.error:
        print(f"    error: {record.error}")
