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
    print_rows("parameters that differ", comparison.parameters, show=str)
    print_rows("inputs that differ (sha256)", comparison.inputs, show=short_digest)
    print_rows("outputs that differ (sha256)", comparison.outputs, show=short_digest)
    print_rows("metrics", comparison.metrics, show=format_value, side_by_side=True)
    print("cells (seconds A / B, peak MB A / B):")
    for cell in comparison.cells:
        print(f"  {cell['index']:>3}  {format_value(cell['seconds_a']):>7} / "
              f"{format_value(cell['seconds_b']):<7}  {format_value(cell['peak_rss_mb_a']):>6} / "
              f"{format_value(cell['peak_rss_mb_b']):<6}  {cell['source']}")
    if not comparison.cells:
        print("  - (no cell timings: skipped runs, or records from before they were kept)")
    print()


def print_rows(title: str, rows: list[dict], show, side_by_side: bool = False) -> None:
    """`name  a  ->  b` for what differs; metrics in two columns, `*` where they differ."""
    print(f"{title}:")
    if not rows:
        print("  none")
    width = max((len(str(row["name"])) for row in rows), default=0)
    for row in rows:
        a, b = ("-" if row[side] is None else show(row[side]) for side in ("a", "b"))
        if side_by_side:
            flag = "*" if row["changed"] else " "
            print(f" {flag}{row['name']:<{width}}  {a:>12}  {b:>12}")
        else:
            print(f"  {row['name']:<{width}}  {a}  ->  {b}")


def short_digest(sha256: str) -> str:
    return sha256[:12]
