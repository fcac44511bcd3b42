"""Measure nbsteps' fast paths side by side with the plain ones, on this machine.

    python benchmarks/run.py [--corpus ../shared/data/qanon/posts.json] [--only NAME ...]

Prints a table and writes artifacts/benchmark.json. Each section is one target of the
performance issue; container sections run only where a Docker engine answers.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import model_scale, pipeline_runs  # noqa: E402
from benchmarks.common import DEFAULT_CORPUS, REPO, Figure  # noqa: E402

CONTAINER_SECTIONS = ("images", "compose")


def docker_available() -> bool:
    return shutil.which("docker") is not None and os.system("docker info >/dev/null 2>&1") == 0


def sections(corpus: Path, workdir: Path) -> dict:
    """Name -> a callable giving that section's figures (imported lazily: some need extras)."""

    def data_scale():
        from benchmarks import scale_data

        return scale_data.measure(corpus, workdir / "scale")

    def dashboard():
        from benchmarks import dashboard_click

        return dashboard_click.measure(corpus, workdir / "dashboard")

    def dashboard_load():
        from benchmarks import dashboard_load as load

        return load.measure(corpus, workdir / "dashboard-load")

    def images():
        from benchmarks import images as image_sizes

        return image_sizes.measure(workdir / "images")

    def compose_runs():
        from benchmarks import compose_runs as runs

        return runs.measure(corpus, workdir / "compose")

    def ingest_scale():
        from benchmarks import ingest_scale as scale

        return scale.measure(corpus, workdir / "ingest-scale")

    def sweep():
        from benchmarks import sweep as sweeps

        return sweeps.measure(corpus, workdir / "sweep")

    def cell_sampling():
        from benchmarks import cell_sampling as sampling

        return sampling.measure()

    return {
        "model": lambda: model_scale.measure(corpus),
        "pipeline": lambda: pipeline_runs.measure(corpus, workdir / "pipeline"),
        "data": data_scale,
        "dashboard": dashboard,
        "load": dashboard_load,
        "images": images,
        "compose": compose_runs,
        "ingest": ingest_scale,
        "sampling": cell_sampling,
        "sweep": sweep,
    }


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} {unit}" if unit == "MB" else f"{value:,.2f} {unit}"


def print_table(figures: list[Figure]) -> None:
    rows = [("target", "measure", "nbsteps", "baseline", "speed-up", "goal", "note")]
    for f in figures:
        ratio = f"{f.ratio:,.1f}x" if f.ratio and f.unit == "s" else ""
        rows.append((f.target, f.measure, format_value(f.value, f.unit),
                     format_value(f.baseline, f.unit), ratio, f.goal, f.note))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def describe_machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", nargs="*", help="sections to run (default: all)")
    parser.add_argument("--output", type=Path, default=REPO / "artifacts" / "benchmark.json")
    args = parser.parse_args()
    if not args.corpus.is_file():
        parser.error(f"no corpus at {args.corpus}; pass --corpus PATH")
    figures: list[Figure] = []
    failures = {}
    with tempfile.TemporaryDirectory(prefix="nbsteps-bench-") as workdir:
        for name, measure in sections(args.corpus, Path(workdir)).items():
            if args.only and name not in args.only:
                continue
            if name in CONTAINER_SECTIONS and not docker_available():
                failures[name] = "no Docker engine answers (scripts/start-docker.sh)"
                continue
            print(f"... {name}", file=sys.stderr, flush=True)
            try:
                figures += measure()
            except Exception as error:  # one broken section must not hide the others
                failures[name] = f"{type(error).__name__}: {error}"
    print_table(figures)
    for name, reason in failures.items():
        print(f"not measured: {name}: {reason}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": describe_machine(), "figures": [asdict(f) for f in figures],
              "not_measured": failures}
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.output}")
    return 1 if failures and not figures else 0


if __name__ == "__main__":
    sys.exit(main())
