"""Target 5, "100x the data": ingest + preprocess on the real corpus replicated 10x and 100x.

`write_scaled_corpus` replicates the real posts `factor` times; `measure_ingest_preprocess`
runs `nbsteps run ingest preprocess` on such a file in a subprocess and reports wall and CPU
time, peak memory, the seconds each step took and the rows written; `measure` gives the
figures of benchmarks/run.py, each next to the same run with the plain implementation
(json.load, pandas.json_normalize) as of BASELINE_COMMIT. Run this file for a table:

    python -m benchmarks.scale_data [--factors 1 10 100] [--baseline] [--workdir DIR]

The scaled corpora are large (4.2 MB per factor) and are written under the workdir (a
temporary folder by default), never into the repository.
"""

import argparse
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL_CORPUS = REPO.parent / "shared" / "data" / "qanon" / "posts.json"
# The last commit whose ingest and preprocess loaded the whole corpus (json.load) and
# flattened it with pandas.json_normalize: the "before" of the measurements.
BASELINE_COMMIT = "0c9e889"
BASELINE_MODULES = (
    "notebooks/corpus.py", "notebooks/posts.py",
    "notebooks/1.ingest.ipynb", "notebooks/2.preprocess.ipynb",
)
# Replica r > 0 gets post_id r * POST_ID_STRIDE + the original: still a string of digits,
# and larger than any real post_id (the largest is 153323368), so replicas never share one.
POST_ID_STRIDE = 10**12


def write_scaled_corpus(source: Path, target: Path, factor: int) -> int:
    """Write the posts of `source` `factor` times over to `target`; returns the number of posts.

    Replica r (from 0) of a post gets `id + r * max_id` and, for r > 0, a post_id of its
    own (see POST_ID_STRIDE; the real corpus itself repeats a few post_ids). Times are
    squeezed so that the file stays chronological and within the real posting history
    (all five `bintime` periods stay populated): replica r takes the r-th of `factor` equal
    slices of the original time span. Factor 1 writes the source itself, byte for byte (the
    real corpus is `json.dumps(document, indent=2, ensure_ascii=False)`).
    Memory is bounded by the source: the posts are written one at a time.
    """
    if factor < 1:
        raise ValueError(f"factor must be 1 or more, got {factor}")
    posts = json.loads(Path(source).read_text(encoding="utf-8"))["posts"]
    times = [post["post_metadata"]["time"] for post in posts]
    first, span = min(times), max(times) - min(times) + 1
    max_id = max(post["post_metadata"]["id"] for post in posts)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "w", encoding="utf-8") as stream:
        stream.write('{\n  "posts": [')
        for replica in range(factor):
            for post in posts:
                stream.write(",\n    " if written else "\n    ")
                stream.write(dump_post(replicate(post, replica, factor, first, span, max_id)))
                written += 1
        stream.write("\n  ]\n}")
    return written


def replicate(post: dict, replica: int, factor: int, first: int, span: int, max_id: int) -> dict:
    if factor == 1:
        return post
    metadata = dict(post["post_metadata"])
    # Integer division keeps times whole seconds and non-decreasing through the file.
    metadata["time"] = first + (metadata["time"] - first + replica * span) // factor
    if replica:
        metadata["id"] = metadata["id"] + replica * max_id
        metadata["post_id"] = str(replica * POST_ID_STRIDE + int(metadata["post_id"]))
    return post | {"post_metadata": metadata}


def dump_post(post: dict) -> str:
    # A JSON string never holds a raw newline, so every newline here is indentation.
    return json.dumps(post, indent=2, ensure_ascii=False).replace("\n", "\n    ")


def measure_ingest_preprocess(corpus: Path, workdir: Path, project: Path = REPO) -> dict:
    """Run ingest (from the local file `corpus`, forced) and preprocess; what they cost.

    `project` is the project whose notebooks run (this repository by default). Returns
    wall_s, cpu_s (user + system, of nbsteps and the kernels it waited for) and max_rss_mb
    from `/usr/bin/time -v`: the largest peak of any single process of the tree, here the
    kernel running a notebook; tree_rss_mb, the peak of the summed RSS of nbsteps and all
    its children, sampled every 0.1 s (None without psutil); ingest_s and preprocess_s, the
    duration_s of each step's run record; rows, of data/processed/posts.parquet.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    folders = {name: workdir / name for name in ("data", "outputs", "logs")}
    time_report = workdir / "time.txt"
    command = [
        "/usr/bin/time", "-v", "-o", str(time_report),
        sys.executable, "-m", "nbsteps", "run", "ingest", "preprocess",
        "-p", f"ingest.source={Path(corpus).resolve()}", "-p", "ingest.force=true", "--force",
        "--project", str(project),
        "--data-dir", str(folders["data"]),
        "--outputs-dir", str(folders["outputs"]),
        "--logs-dir", str(folders["logs"]),
    ]
    with open(workdir / "nbsteps.stderr", "w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = TreeSampler(process.pid)
        returncode = process.wait()
        sampler.stop()
    if returncode != 0:
        tail = (workdir / "nbsteps.stderr").read_text()[-2000:]
        raise RuntimeError(f"nbsteps exited with {returncode}:\n{tail}")
    return parse_time_report(time_report.read_text()) | {
        "tree_rss_mb": sampler.peak_mb,
        "ingest_s": step_duration(folders["outputs"], "ingest"),
        "preprocess_s": step_duration(folders["outputs"], "preprocess"),
        "rows": count_rows(folders["data"] / "processed" / "posts.parquet"),
    }


def parse_time_report(text: str) -> dict:
    """Wall and CPU seconds and peak RSS (MB) from the output of `/usr/bin/time -v`."""
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", text)
    user = re.search(r"User time \(seconds\): ([\d.]+)", text)
    system = re.search(r"System time \(seconds\): ([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not (wall and user and system and rss):
        raise ValueError(f"not the output of /usr/bin/time -v:\n{text}")
    hours, minutes, seconds = wall.groups()
    return {
        "wall_s": int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds),
        "cpu_s": float(user.group(1)) + float(system.group(1)),
        "max_rss_mb": int(rss.group(1)) / 1024,
    }


def step_duration(outputs: Path, step: str) -> float:
    return json.loads((outputs / step / "latest.json").read_text())["duration_s"]


def count_rows(parquet: Path) -> int:
    import pyarrow.parquet

    return pyarrow.parquet.read_metadata(parquet).num_rows


class TreeSampler:
    """The peak, in MB, of the summed RSS of a process and all its descendants (a sum
    counts shared pages twice, so it is an upper bound)."""

    def __init__(self, pid: int, interval_s: float = 0.1):
        self.pid, self.interval_s = pid, interval_s
        self.peak_mb: float | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        peak = 0
        while not self.done.wait(self.interval_s):
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for process in processes:
                with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                    total += process.memory_info().rss
            peak = max(peak, total)
        self.peak_mb = peak / 2**20


def baseline_project(target: Path) -> Path:
    """A copy of this project with the ingest and preprocess modules of BASELINE_COMMIT."""
    from tests.conftest import copy_project

    copy_project(target)
    for module in BASELINE_MODULES:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{BASELINE_COMMIT}:{module}"],
                              capture_output=True, text=True, check=True).stdout
        (target / module).write_text(text)
    return target


def scaled_runs(source: Path, workdir: Path, factors: list[int], baseline: bool) -> Iterator[dict]:
    """One row per factor (and per version, with `baseline`), as each run ends; each
    scaled corpus is deleted once measured."""
    projects = {"now": REPO}
    if baseline:
        projects["before"] = baseline_project(workdir / "baseline-project")
    for factor in factors:
        corpus = workdir / f"posts-x{factor}.json"
        posts = write_scaled_corpus(source, corpus, factor)
        for version, project in projects.items():
            result = measure_ingest_preprocess(corpus, workdir / f"{version}-x{factor}", project)
            yield {"version": version, "factor": factor, "posts": posts,
                   "MB": corpus.stat().st_size / 1e6} | result
        corpus.unlink()


def measure(corpus: Path, workdir: Path) -> list:
    """The figures of target 5 for benchmarks/run.py: 10x and 100x, now and before."""
    from benchmarks.common import Figure
    from benchmarks.model_scale import measure_in_child

    rows = list(scaled_runs(corpus, workdir, [10, 100], baseline=True))
    now = {r["factor"]: r for r in rows if r["version"] == "now"}
    before = {r["factor"]: r for r in rows if r["version"] == "before"}
    big = now[100]
    posts = f"{big['posts']:,} posts, {big['MB']:,.0f} MB"
    # The model on the 100x table that preprocess just wrote, then the original way.
    table = workdir / "now-x100" / "data" / "processed" / "posts.parquet"
    model = measure_in_child(table, 1000, "fast")
    dense = measure_in_child(table, 1000, "dense")
    return [
        Figure("5 100x the data", "model k=1000 on the 100x table (trigrams, distances, PCA)",
               model["model_s"], dense["model_s"], goal="measured",
               note=f"trigrams {model['counts_s']:.1f} s vs {dense['counts_s']:.1f} s, "
               f"distances {model['distances_s']:.1f} s vs {dense['distances_s']:.1f} s; "
               f"peak {model['peak_mb']:,.0f} MB vs {dense['peak_mb']:,.0f} MB; "
               + ("identical distances" if model["checksum"] == dense["checksum"]
                  else "DISTANCES DIFFER"), extra={"fast": model, "dense": dense}),
        Figure("5 100x the data", f"ingest + preprocess, 100x ({posts}), wall",
               big["wall_s"], before[100]["wall_s"], goal="< 90 s",
               note=f"ingest {big['ingest_s']:.1f} s, preprocess {big['preprocess_s']:.1f} s; "
               f"{big['rows']:,} rows", extra=big),
        Figure("5 100x the data", "ingest + preprocess, 100x, CPU (user + system)",
               big["cpu_s"], before[100]["cpu_s"], note="less noisy than wall on a busy machine"),
        Figure("5 100x the data", "ingest + preprocess, 100x, peak memory (largest process)",
               big["max_rss_mb"], before[100]["max_rss_mb"], unit="MB", goal="< 6144 MB",
               note=f"whole tree summed: {big['tree_rss_mb'] or 0:,.0f} MB"),
        Figure("5 100x the data", "100x / 10x wall time (10x the posts)",
               big["wall_s"] / now[10]["wall_s"], before[100]["wall_s"] / before[10]["wall_s"],
               unit="x", goal="close to linear (<= 10x)",
               note="the fixed cost of starting two kernels weighs on the 10x run"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REAL_CORPUS)
    parser.add_argument("--workdir", type=Path, help="where corpora and runs go (default: tmp)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--baseline", action="store_true", help="also run the modules of "
                        f"{BASELINE_COMMIT} (json.load, json_normalize), for before and after")
    args = parser.parse_args()
    columns = ("version", "factor", "posts", "MB", "wall_s", "cpu_s", "ingest_s",
               "preprocess_s", "max_rss_mb", "tree_rss_mb", "rows")
    print(" ".join(f"{column:>12}" for column in columns), flush=True)
    with tempfile.TemporaryDirectory(prefix="nbsteps-scale-") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        for row in scaled_runs(args.source, workdir, args.factors, args.baseline):
            print(" ".join(format_cell(row[column]) for column in columns), flush=True)


def format_cell(value) -> str:
    if value is None:
        return f"{'-':>12}"
    if isinstance(value, str):
        return f"{value:>12}"
    return f"{value:>12,.1f}" if isinstance(value, float) else f"{value:>12,}"


if __name__ == "__main__":
    main()
