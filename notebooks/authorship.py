"""Authorship clustering: cut the text into parts, compare their character trigrams, draw them.

This is the analysis of the original project's model.py, kept exact: the distances equal
the original dense `manhattan_distances(X.todense())` (computed here without densifying),
and the PCA coordinates equal the original ones up to the sign of each axis.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.manifold import TSNE

METHODS = ("PCA", "t-SNE")
NGRAM = 3
FULL_SVD_MAX_K = 500
# A trigram counted more often than this in some part is summed directly, not by thresholds.
FREQUENT_COUNT = 32
BLOCK_ELEMENTS = 8_000_000  # elements in one broadcast block of sum_minima_directly


def join_texts(texts: pd.Series) -> str:
    return " ".join(texts)


def cut_parts(text: str, k: int) -> tuple[list[str], int]:
    """`k` consecutive parts of `n = len(text) // k` characters; the remainder is dropped."""
    if k < 2:
        raise ValueError(f"k={k} is too small: at least 2 parts are needed to compare them")
    n = len(text) // k
    if n < NGRAM:
        raise ValueError(
            f"k={k} is too large for {len(text):,} characters of text: each part would have "
            f"{n} characters, fewer than a trigram; choose k <= {len(text) // NGRAM:,}"
        )
    return [text[i * n : (i + 1) * n] for i in range(k)], n


def count_trigrams(parts: list[str]) -> sp.csr_matrix:
    """The parts x trigrams matrix of counts."""
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(NGRAM, NGRAM))
    return vectorizer.fit_transform(parts).tocsr()


def manhattan_matrix(counts: sp.csr_matrix) -> np.ndarray:
    """Exact pairwise manhattan (L1) distances between the rows of a sparse count matrix.

    For counts a, b >= 0: |a - b| = a + b - 2 min(a, b), so only the sums of element-wise
    minima are needed. Trigrams that are never frequent are summed with thresholds (see
    `sum_minima_by_thresholds`); the few frequent ones, where that would take one sparse
    product per count value, with a direct element-wise minimum.
    """
    columns = sp.csc_matrix(counts, dtype=np.int64, copy=True)
    columns.eliminate_zeros()
    totals = np.asarray(columns.sum(axis=1)).ravel()
    frequent = columns.max(axis=0).toarray().ravel() > FREQUENT_COUNT
    shared = sum_minima_by_thresholds(columns[:, ~frequent].tocsr())
    shared += sum_minima_directly(columns[:, frequent].toarray())
    return (totals[:, None] + totals[None, :] - 2 * shared).astype(np.float64)


def sum_minima_by_thresholds(counts: sp.csr_matrix) -> np.ndarray:
    """sum_v min(a_v, b_v) for every pair of rows, as sparse products.

    min(a, b) is the number of thresholds t >= 1 with a >= t and b >= t; so with B_t the
    0/1 matrix of entries >= t, the sums are sum over t of B_t B_t^T, one product per
    count value up to the largest, each sparser than the one before.
    """
    remaining = counts.copy()
    shared = np.zeros((remaining.shape[0],) * 2, dtype=np.int64)
    while remaining.nnz:
        above = remaining.copy()
        above.data[:] = 1
        shared += (above @ above.T).toarray()
        remaining.data -= 1
        remaining.eliminate_zeros()
    return shared


def sum_minima_directly(counts: np.ndarray) -> np.ndarray:
    """sum_v min(a_v, b_v) for every pair of rows of a dense (parts x few columns) matrix,
    a block of rows at a time so the broadcast stays within about BLOCK_ELEMENTS."""
    k, m = counts.shape
    shared = np.zeros((k, k), dtype=np.int64)
    if m == 0:
        return shared
    rows = max(1, BLOCK_ELEMENTS // (k * m))
    for start in range(0, k, rows):
        block = counts[start : start + rows, None, :]
        shared[start : start + rows] = np.minimum(block, counts[None, :, :]).sum(axis=2)
    return shared


def embed_2d(distances: np.ndarray, method: str, seed: int) -> np.ndarray:
    """Two coordinates per part: PCA of the distance rows, or t-SNE on the distances."""
    if method == "PCA":
        return PCA(n_components=2, svd_solver=choose_pca_solver(len(distances)),
                   random_state=seed).fit_transform(distances)
    if method == "t-SNE":
        # Perplexity must stay below the number of parts; 30 is scikit-learn's default.
        perplexity = min(30.0, (len(distances) - 1) / 3)
        tsne = TSNE(n_components=2, metric="precomputed", init="random",
                    perplexity=perplexity, random_state=seed)
        return tsne.fit_transform(distances)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def choose_pca_solver(k: int) -> str:
    """The full SVD, as the original used, while it is cheap; ARPACK's two leading components
    beyond that: the full SVD of a 5,000 x 5,000 matrix takes minutes, ARPACK seconds, and
    both agree to about 1e-14 (tests/test_authorship.py checks it)."""
    return "full" if k <= FULL_SVD_MAX_K else "arpack"


def label_parts(sites: pd.Series, sizes: pd.Series, n: int, k: int) -> tuple[np.ndarray, list]:
    """A label per part: the rounded mean of its posts' site indices, and the site names.

    Sites are numbered in order of first appearance; a post belongs to part cumsum(size) // n
    (the part its text ends in). A part in which no post ends lies inside a long post, and
    takes the label of the next part that has one (that post's part).
    """
    names = list(pd.unique(sites))
    index = sites.map({name: i for i, name in enumerate(names)}).to_numpy()
    part = np.cumsum(sizes.to_numpy()) // n
    means = pd.Series(index).groupby(part).mean().round()
    labels = means.reindex(range(k)).bfill().ffill()
    return labels.to_numpy().astype(int), names


def summarize(k: int, n: int, method: str, seed: int, labels: np.ndarray, names: list) -> dict:
    counts = pd.Series(labels).map(dict(enumerate(names))).value_counts()
    return {
        "k": k,
        "characters_per_part": n,
        "method": method,
        "seed": seed,
        "counts_per_label": {name: int(counts.get(name, 0)) for name in names},
    }


def coordinates_table(coordinates: np.ndarray, labels: np.ndarray, names: list) -> pd.DataFrame:
    return pd.DataFrame({
        "part": np.arange(len(labels)),
        "x": coordinates[:, 0],
        "y": coordinates[:, 1],
        "label": labels,
        "site": [names[label] for label in labels],
    })


def plot_parts(table: pd.DataFrame, title: str):
    """Scatter of the parts, one colour per site, the legend naming the sites."""
    import matplotlib.pyplot as plt  # only the model step draws; keep the import here

    figure, axes = plt.subplots(figsize=(8, 6))
    for site, points in table.groupby("site", sort=False):
        axes.scatter(points["x"], points["y"], s=18, alpha=0.8, label=site)
    axes.set_title(title)
    axes.set_xlabel("component 1")
    axes.set_ylabel("component 2")
    axes.legend(title="source site")
    figure.tight_layout()
    return figure
