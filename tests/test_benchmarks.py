"""The benchmark (`make bench`) is run by hand, not by CI: these keep its parts from
breaking unseen, and check that its comparison of the model against the original is sound."""

import importlib
import pkgutil

import pytest

import benchmarks
from benchmarks import model_scale
from tests.corpus_factory import make_posts, write_corpus


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)))
def test_every_benchmark_module_imports(name):
    importlib.import_module(f"benchmarks.{name}")


def test_the_model_benchmark_finds_the_same_distances_as_the_original(tmp_path):
    corpus = tmp_path / "posts.json"
    write_corpus(corpus, make_posts(300))
    fast = model_scale.measure_once(corpus, 20, "fast")
    dense = model_scale.measure_once(corpus, 20, "dense")
    assert len(fast["checksum"]) == 64 and fast["checksum"] == dense["checksum"]
