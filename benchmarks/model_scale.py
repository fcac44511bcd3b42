"""Target 1: the model's distances at scale, against the original dense computation.

Run as a script for one measurement in a fresh process (so its peak memory is its own):
    python -m benchmarks.model_scale --k 1000 --method fast|dense [--corpus FILE]
where FILE is a raw corpus (posts.json) or preprocess's table (posts.parquet).
It prints one JSON line: seconds for the trigram counts, for the distances, for the whole
model computation (trigrams, distances, PCA, labels), and a checksum of the distances.
"dense" is the original: CountVectorizer's counts, densified, sklearn's manhattan_distances.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))

import numpy as np  # noqa: E402

from benchmarks.common import DEFAULT_CORPUS, Figure, python_child  # noqa: E402


def prepare_texts(corpus: Path):
    """The posts table: a raw corpus cleaned as preprocess does, or preprocess's parquet."""
    import pandas as pd

    import posts

    if corpus.suffix == ".parquet":
        return pd.read_parquet(corpus, columns=["text", "post_metadata_source_site", "size"])
    frame, _ = posts.normalize_posts(posts.read_posts(corpus), 50)
    return frame


def measure_once(corpus: Path, k: int, method: str) -> dict:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.metrics.pairwise import manhattan_distances

    import authorship

    frame = prepare_texts(corpus)
    started = time.perf_counter()
    parts, n = authorship.cut_parts(authorship.join_texts(frame["text"]), k)
    if method == "dense":
        counts = CountVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(parts)
    else:
        counts = authorship.count_trigrams(parts)
    counted = time.perf_counter()
    if method == "dense":  # the original: densify, then sklearn's pairwise distances
        distances = manhattan_distances(np.asarray(counts.todense()))
    else:
        distances = authorship.manhattan_matrix(counts)
    measured = time.perf_counter()
    authorship.embed_2d(distances, "PCA", 0)
    authorship.label_parts(frame["post_metadata_source_site"], frame["size"], n, k)
    finished = time.perf_counter()
    return {
        "k": k,
        "method": method,
        "counts_s": counted - started,
        "distances_s": measured - counted,
        "model_s": finished - started,
        "checksum": hashlib.sha256(np.ascontiguousarray(distances).tobytes()).hexdigest(),
    }


def measure_in_child(corpus: Path, k: int, method: str) -> dict:
    child = python_child(["-m", "benchmarks.model_scale", "--corpus", str(corpus),
                          "--k", str(k), "--method", method])
    if child.returncode != 0:
        raise RuntimeError(f"model_scale k={k} {method} failed: {child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1]) | {"peak_mb": child.peak_mb}


def measure(corpus: Path) -> list[Figure]:
    large = measure_in_child(corpus, 5000, "fast")  # biggest first: see common.run_child
    fast = measure_in_child(corpus, 1000, "fast")
    dense = measure_in_child(corpus, 1000, "dense")
    same = fast["checksum"] == dense["checksum"]
    return [
        Figure("1 model at scale", "k=1000 distances: nbsteps vs dense",
               fast["distances_s"], dense["distances_s"], goal=">= 10x faster, identical",
               note="identical distances" if same else "DISTANCES DIFFER"),
        Figure("1 model at scale", "k=5000 distances", large["distances_s"], goal="",
               note="dense: impractical (k x V dense matrix)"),
        Figure("1 model at scale", "k=5000 whole model (trigrams, distances, PCA, labels)",
               large["model_s"], goal="< 15 s"),
        Figure("1 model at scale", "k=5000 peak memory", large["peak_mb"], unit="MB",
               goal="< 2048 MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--method", choices=("fast", "dense"), default="fast")
    args = parser.parse_args()
    print(json.dumps(measure_once(args.corpus, args.k, args.method)))


if __name__ == "__main__":
    main()
