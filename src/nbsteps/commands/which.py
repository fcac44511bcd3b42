"""`nbsteps which PATH`: the run that wrote a file, and the runs behind its inputs."""

from pathlib import Path

from nbsteps.commands.text import format_parameters, format_started, warn_unreadable
from nbsteps.errors import EXIT_FAILED
from nbsteps.provenance import Origin, trace_file


def add_parser(commands, parents) -> None:
    parser = commands.add_parser("which", parents=parents,
                                 help="the run that wrote a file, followed back to the source")
    parser.add_argument("path", metavar="PATH", help="a data file (or a run's notebook or log)")


def run(project, args) -> int:
    trace = trace_file(project, Path(args.path))
    warn_unreadable(trace.problems, "a run it names may be missing below")
    if trace.origin.record is None:
        print(f"no run wrote {trace.path} as it is now (sha256 {trace.origin.sha256[:12]})")
        if trace.last_writer is not None:
            print(f"  {trace.last_writer.run_id} wrote this path last, with other content: "
                  "the file was changed or replaced since")
        return EXIT_FAILED
    print_origin(trace.origin, depth=0)
    return 0


def print_origin(origin: Origin, depth: int) -> None:
    indent = "    " * depth
    record = origin.record
    digest = f" (sha256 {origin.sha256[:12]})" if origin.sha256 else ""
    if record is None:
        print(f"{indent}{origin.path}{digest}: no run wrote it (put there by hand, or its "
              "run's record is gone)")
        return
    verb = "written by" if origin.sha256 else "a file of run"
    print(f"{indent}{origin.path}{digest}")
    print(f"{indent}  {verb} {record.run_id} ({record.step}, {record.status} "
          f"{format_started(record.started)} UTC)" + (", traced above" * origin.traced_above))
    if origin.traced_above:
        return
    print(f"{indent}  parameters: {format_parameters(record.parameters) or '-'}")
    if origin.reused_by:
        print(f"{indent}  reused by {len(origin.reused_by)} skipped run(s), the latest "
              f"{origin.reused_by[0]}")
    if not origin.inputs:
        print(f"{indent}  no inputs: the source")
    for upstream in origin.inputs:
        print(f"{indent}  input:")
        print_origin(upstream, depth + 1)
