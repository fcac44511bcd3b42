"""`nbsteps show RUN_ID`: one run in full."""

import json

from nbsteps.commands.text import (
    format_mb,
    format_pairs,
    format_parameters,
    format_seconds,
    format_started,
)
from nbsteps.show import RunDetails, describe_run


def add_parser(commands, parents) -> None:
    parser = commands.add_parser("show", parents=parents,
                                 help="one run in full: record, files, log tail, slowest cells")
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(project, args) -> int:
    details = describe_run(project, args.run_id)
    if args.json:
        print(json.dumps(details.to_dict(), indent=2, default=str))
        return 0
    print_details(details)
    return 0


def print_details(details: RunDetails) -> None:
    record = details.record
    print(f"run        {record.run_id}")
    print(f"step       {record.step}")
    print(f"status     {record.status}" + (f" (exit {record.exit_code})"
                                           if record.exit_code else ""))
    print(f"started    {format_started(record.started)} UTC, "
          f"took {format_seconds(record.duration_s)}, peak {format_mb(record.peak_rss_mb)}")
    print(f"why        {record.reason or '-'}")
    if record.error:
        print(f"error      {record.error}")
    print(f"parameters {format_parameters(record.parameters) or '-'}")
    if record.metrics:
        print(f"metrics    {format_pairs(record.metrics)}")
    for title, files in (("inputs", record.inputs), ("outputs", record.outputs)):
        print(f"{title}:")
        for item in files:
            print(f"  {item['path']}  {item.get('size', '?')} bytes  sha256 {item['sha256'][:12]}")
        if not files:
            print("  -")
    print("files:")
    for name, entry in details.files.items():
        print(f"  {name:<9} {entry['path']}" + ("" if entry["exists"] else "  (missing)"))
    if details.slowest_cells:
        print("slowest cells:")
        for cell in details.slowest_cells:
            print(f"  cell {cell['index']:>3}  {format_seconds(cell.get('seconds')):>8}  "
                  f"{format_mb(cell.get('peak_rss_mb')):>7}  {cell['source']}")
    print(f"log (last {len(details.log_tail)} lines):")
    for line in details.log_tail:
        print(f"  {line}")
