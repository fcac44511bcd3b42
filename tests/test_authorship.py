import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics.pairwise import manhattan_distances

from tests.corpus_factory import make_posts
from tests.notebook_modules import authorship, posts


def original_pca(parts: list[str]) -> np.ndarray:
    """The original project's computation: dense counts, sklearn distances, default PCA."""
    counts = CountVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(parts)
    distances = manhattan_distances(np.asarray(counts.todense()))
    return PCA(n_components=2).fit_transform(distances)


def assert_equal_up_to_axis_sign(actual: np.ndarray, expected: np.ndarray) -> None:
    for axis in range(expected.shape[1]):
        sign = np.sign(actual[:, axis] @ expected[:, axis]) or 1.0
        np.testing.assert_allclose(sign * actual[:, axis], expected[:, axis], rtol=1e-9, atol=1e-6)


def test_parts_have_equal_length_and_the_remainder_is_dropped():
    parts, n = authorship.cut_parts("abcdefghij" * 3 + "xyzw", 4)  # 34 // 4 = 8
    assert n == 8 and parts == ["abcdefgh", "ijabcdef", "ghijabcd", "efghijxy"]


@pytest.mark.parametrize(("k", "message"), [(1, "too small"), (0, "too small"), (11, "too large")])
def test_cutting_refuses_a_k_the_text_cannot_bear(k, message):
    with pytest.raises(ValueError, match=message):
        authorship.cut_parts("a" * 32, k)


# Texts where CountVectorizer's own preparation matters: case, runs of whitespace of every
# kind (a single newline is kept), characters whose lowercase is longer ("İ"), emoji beyond
# the basic plane, a lone surrogate (a JSON escape can make one), parts too short to hold a
# trigram once whitespace is collapsed, and an empty part.
AWKWARD_PARTS = [
    "The Quick brown fox\n\njumps   over\tthe lazy dog.\n",
    "İstanbul İSTANBUL \u00a0\u00a0 café CAFÉ 🙂🙂 🙂x",
    "\ud83d lone surrogate \ud83d!",
    "a  \t\r\n b",
    "    ",
    "",
    "ab",
    "ǅ ǅ ǅ Σσς ΣΣ",
]


@pytest.mark.parametrize("parts", [
    AWKWARD_PARTS,
    authorship.cut_parts(authorship.join_texts(pd.Series(
        [p.get("text") or "" for p in make_posts(300)])), 50)[0],
], ids=["awkward-texts", "generated-posts"])
def test_trigram_counts_equal_countvectorizers_column_for_column(parts):
    expected = CountVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(parts)
    actual = authorship.count_trigrams(parts)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual.toarray(), expected.toarray())


@pytest.mark.parametrize("fill", [0.01, 0.3], ids=["sparse-products", "dense-products"])
def test_sparse_distances_equal_dense_manhattan_distances(fill):
    """A matrix emptier than DENSE_FROM takes the sparse products, a fuller one the dense
    (BLAS) ones; both with a few frequent columns compared directly."""
    rng = np.random.default_rng(0)
    dense = rng.poisson(0.7, size=(40, 300)) * (rng.random((40, 300)) < fill)
    dense[3] = 0  # an empty part
    dense[5, :5] = [250, 0, 17, 3, 99]  # large counts need many thresholds
    counts = sp.csr_matrix(dense)
    np.testing.assert_array_equal(authorship.manhattan_matrix(counts), manhattan_distances(dense))


def test_distances_of_text_parts_equal_the_original_dense_computation():
    text = authorship.join_texts(pd.Series([p.get("text") or "" for p in make_posts(200)]))
    parts, _ = authorship.cut_parts(text, 30)
    counts = authorship.count_trigrams(parts)
    expected = manhattan_distances(np.asarray(counts.todense()))
    np.testing.assert_array_equal(authorship.manhattan_matrix(counts), expected)


def test_pca_coordinates_equal_the_original_up_to_axis_sign():
    frame, _ = posts.normalize_posts(make_posts(300), 50)
    parts, _ = authorship.cut_parts(authorship.join_texts(frame["text"]), 40)
    distances = authorship.manhattan_matrix(authorship.count_trigrams(parts))
    assert_equal_up_to_axis_sign(authorship.embed_2d(distances, "PCA", 0), original_pca(parts))


def test_pca_beyond_the_full_svd_size_agrees_with_the_full_svd():
    rng = np.random.default_rng(2)
    k = authorship.FULL_SVD_MAX_K + 20
    distances = manhattan_distances(rng.poisson(3.0, size=(k, 60)))
    assert authorship.choose_pca_solver(k) == "arpack"
    expected = PCA(n_components=2, svd_solver="full").fit_transform(distances)
    assert_equal_up_to_axis_sign(authorship.embed_2d(distances, "PCA", 0), expected)


def test_tsne_is_seeded_so_reruns_agree():
    rng = np.random.default_rng(1)
    points = rng.random((25, 4))
    distances = manhattan_distances(points)
    first = authorship.embed_2d(distances, "t-SNE", 7)
    np.testing.assert_array_equal(first, authorship.embed_2d(distances, "t-SNE", 7))
    assert first.shape == (25, 2)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method 'UMAP'"):
        authorship.embed_2d(np.zeros((3, 3)), "UMAP", 0)


def test_a_part_is_labelled_by_the_rounded_mean_site_of_the_posts_ending_in_it():
    sites = pd.Series(["b", "b", "a", "a", "c", "c"])  # b=0, a=1, c=2 by first appearance
    sizes = pd.Series([10, 10, 10, 30, 10, 10])  # cumsum 10 20 30 60 70 80; n = 20
    labels, names = authorship.label_parts(sites, sizes, n=20, k=4)
    # part 0: post 0 (b); part 1: posts 1,2 (b, a: mean 0.5 rounds to 0); part 2: none ends
    # there, it lies inside post 3, which ends in part 3 with post 4: mean(1, 2)=1.5 -> 2.
    assert names == ["b", "a", "c"]
    assert labels.tolist() == [0, 0, 2, 2]


def test_summary_counts_parts_per_site_name():
    summary = authorship.summarize(4, 20, "PCA", 0, np.array([0, 0, 2, 2]), ["b", "a", "c"])
    assert summary["counts_per_label"] == {"b": 2, "a": 0, "c": 2}
    assert (summary["k"], summary["characters_per_part"]) == (4, 20)


def test_plot_legend_names_the_sites():
    table = authorship.coordinates_table(np.arange(8.0).reshape(4, 2), np.array([0, 1, 1, 0]),
                                         ["4ch", "8kun"])
    figure = authorship.plot_parts(table, "title")
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["4ch", "8kun"]
