"""Target 7: one step scaled on its own. N ingest workers share a list of corpus parts
served by a loopback server that adds latency to each file, as a far-away source would."""

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, Figure
from tests.conftest import Workspace
from tests.corpus_factory import split_corpus
from tests.corpus_server import CorpusServer

PARTS = 8
LATENCY_S = 2.0


def run_workers(server: CorpusServer, names: list[str], count: int, base: Path) -> float:
    sources = json.dumps([f"{server.url}/{name}" for name in names])
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-m", "nbsteps", "run", "ingest", "--force",
                          "-p", f"source={sources}", "--force"],
                         env=Workspace(REPO, base).env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
        for _ in range(count)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        if worker.returncode != 0:
            raise RuntimeError(f"an ingest worker failed: {stderr[-1500:]}")
    return time.perf_counter() - started


def measure(corpus: Path, workdir: Path) -> list[Figure]:
    served = workdir / "served"
    names = split_corpus(corpus, served, PARTS)
    figures = []
    with CorpusServer(served) as server:
        server.delay_s = LATENCY_S
        times = {}
        for count in (1, 2, 4):
            server.requests.clear()
            times[count] = run_workers(server, names, count, workdir / f"n{count}")
            fetched_once = sorted(server.requests) == sorted(names)
            figures.append(Figure(
                "7 scale ingest", f"{PARTS} parts, {LATENCY_S:g} s latency each, N={count}",
                times[count], times[1] if count > 1 else None,
                note="each part fetched once" if fetched_once else "PARTS FETCHED TWICE/MISSED",
            ))
    return figures


