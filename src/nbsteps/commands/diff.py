"""`nbsteps diff RUN_A RUN_B`: two runs of one step side by side, then their notebooks."""

import json
import sys
from dataclasses import asdict

from nbsteps.commands.text import format_mb, format_seconds
from nbsteps.diff import RunComparison, compare_runs, notebook_diff_text, write_diff_html
from nbsteps.metrics import format_value


def add_parser(commands, parents) -> None:
    parser = commands.add_parser("diff", parents=parents,
                                 help="compare two runs of the same step")
    parser.add_argument("run_a", metavar="RUN_A")
    parser.add_argument("run_b", metavar="RUN_B")
    parser.add_argument("--html", action="store_true",
                        help="also write a page under outputs/diffs/ and print its path")
    parser.add_argument("--json", action="store_true",
                        help="the comparison as JSON (without the notebook diff)")


def run(project, args) -> int:
    comparison = compare_runs(project, args.run_a, args.run_b)
    if args.json:
        data = asdict(comparison) | {"notebooks": [str(p) for p in comparison.notebooks]}
        print(json.dumps(data, indent=2, default=str))
        return 0
    print_comparison(comparison)
    print(notebook_diff_text(comparison, color=sys.stdout.isatty()), end="")
    if args.html:
        print(f"written: {write_diff_html(project, comparison)}")
    return 0


def print_comparison(comparison: RunComparison) -> None:
    a, b = comparison.a, comparison.b
    print(f"A  {a.run_id}  {a.status}  {format_seconds(a.duration_s)}  "
          f"peak {format_mb(a.peak_rss_mb)}")
    print(f"B  {b.run_id}  {b.status}  {format_seconds(b.duration_s)}  "
          f"peak {format_mb(b.peak_rss_mb)}")
    print_rows("parameters that differ", comparison.parameters)
    print_rows("inputs that differ (sha256)", comparison.inputs, digest=True)
    print_rows("outputs that differ (sha256)", comparison.outputs, digest=True)
    print_rows("metrics", comparison.metrics, mark=True)
    print("cells (seconds A / B, peak MB A / B):")
    for cell in comparison.cells:
        print(f"  {cell['index']:>3}  {format_value(cell['seconds_a']):>7} / "
              f"{format_value(cell['seconds_b']):<7}  {format_value(cell['peak_rss_mb_a']):>6} / "
              f"{format_value(cell['peak_rss_mb_b']):<6}  {cell['source']}")
    if not comparison.cells:
        print("  - (no cell timings: skipped runs, or records from before they were kept)")
    print()


def print_rows(title: str, rows: list[dict], digest: bool = False, mark: bool = False) -> None:
    print(f"{title}:")
    if not rows:
        print("  none")
    width = max((len(str(row["name"])) for row in rows), default=0)
    for row in rows:
        a, b = (shorten(row[side], digest) for side in ("a", "b"))
        flag = "*" if mark and row["changed"] else " "
        print(f" {flag}{row['name']:<{width}}  {a}  ->  {b}" if not mark else
              f" {flag}{row['name']:<{width}}  {a:>12}  {b:>12}")


def shorten(value, digest: bool) -> str:
    if value is None:
        return "(none)" if digest else "-"
    return value[:12] if digest else format_value(value)
