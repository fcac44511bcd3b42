"""Authorship clustering: cut the text into parts, compare their character trigrams, draw them.

This is the analysis of the original project's model.py, kept exact: the distances equal
the original dense `manhattan_distances(X.todense())` (computed here without densifying),
and the PCA coordinates equal the original ones up to the sign of each axis.
"""

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial.distance import pdist, squareform
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

METHODS = ("PCA", "t-SNE")
NGRAM = 3
FULL_SVD_MAX_K = 500
# A trigram counted more often than this in some part is compared directly, not by thresholds.
FREQUENT_COUNT = 32
# A threshold's 0/1 matrix at least this full is multiplied densely (BLAS), else sparsely:
# about where the two take equal time (2% on the real corpus at k=1000, 35% at 100x).
DENSE_FROM = 0.05
DENSE_BLOCK_ELEMENTS = 16_000_000  # entries of one dense column block (64 MB of float32)
# What CountVectorizer(analyzer="char") does to a text before cutting it into n-grams.
WHITESPACE_RUNS = re.compile(r"\s\s+")
NO_SITE = "(no site)"  # the label of posts whose corpus names no source site


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
    """The parts x trigrams matrix of counts, the one the original's
    `CountVectorizer(analyzer="char", ngram_range=(3, 3))` makes, columns in the same order.

    As CountVectorizer does, each part is lowercased and its runs of whitespace made one
    space. Then, instead of a Python string per trigram (slow on a large corpus), a trigram
    is one integer made of its three code points, 21 bits each, counted with numpy; those
    integers sort as the strings do, so the columns come out in CountVectorizer's order.
    """
    grams, counts, ends = [], [], [0]
    for part in parts:
        text = WHITESPACE_RUNS.sub(" ", part.lower())
        # surrogatepass: a lone surrogate (from a JSON escape) is a code point like any other.
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        points = points.astype(np.int64)
        codes = (points[:-2] << 42) | (points[1:-1] << 21) | points[2:]
        unique, count = np.unique(codes, return_counts=True)
        grams.append(unique)
        counts.append(count)
        ends.append(ends[-1] + len(unique))
    vocabulary, columns = np.unique(np.concatenate(grams), return_inverse=True)
    return sp.csr_matrix((np.concatenate(counts), columns, np.array(ends)),
                         shape=(len(parts), len(vocabulary)), dtype=np.int64)


def manhattan_matrix(counts: sp.csr_matrix) -> np.ndarray:
    """Exact pairwise manhattan (L1) distances between the rows of a sparse count matrix.

    The few frequent trigrams (a count above FREQUENT_COUNT in some part) are compared
    directly, as dense columns. For the many others, with counts a, b >= 0:
    |a - b| = a + b - 2 min(a, b), and the sums of element-wise minima come from a few
    matrix products over count thresholds (see `sum_minima_by_thresholds`). Every sum is of
    integers, exact in float64: the distances equal the original dense computation.
    """
    columns = sp.csc_matrix(counts, dtype=np.int64, copy=True)
    columns.eliminate_zeros()
    frequent = columns.max(axis=0).toarray().ravel() > FREQUENT_COUNT
    rare = columns[:, ~frequent].tocsr()
    totals = np.asarray(rare.sum(axis=1), dtype=np.float64).ravel()
    # In place: at k = 5,000 every k x k temporary costs a good fraction of a second.
    distances = sum_minima_by_thresholds(rare)
    distances *= -2
    distances += totals[:, None]
    distances += totals[None, :]
    if frequent.any():
        distances += squareform(pdist(columns[:, frequent].toarray().astype(np.float64),
                                      "cityblock"))
    return distances


def sum_minima_by_thresholds(counts: sp.csr_matrix) -> np.ndarray:
    """sum_v min(a_v, b_v) for every pair of rows, as matrix products.

    min(a, b) is the number of thresholds t >= 1 with a >= t and b >= t; so with B_t the
    0/1 matrix of entries >= t, the sums are sum over t of B_t B_t^T, one product per
    count value up to the largest, each sparser than the one before. A B_t with few ones
    is multiplied as a sparse matrix; a full one (long parts share most trigrams) as a
    dense one, where BLAS is many times faster.
    """
    remaining = counts.copy()
    shared = np.zeros((remaining.shape[0],) * 2)  # float64: sums of integers, exact
    while remaining.nnz:
        above = remaining.copy()
        above.data[:] = 1
        shared += multiply_by_transpose(above)
        remaining.data -= 1
        remaining.eliminate_zeros()
    return shared


def multiply_by_transpose(ones: sp.csr_matrix) -> np.ndarray:
    """B B^T of a 0/1 matrix, sparsely (int64) or densely (float32 column blocks, whose sums
    of ones stay exact below 2**24) by how full B is; whole numbers either way."""
    used = np.unique(ones.indices)
    if ones.nnz < DENSE_FROM * ones.shape[0] * len(used) or len(used) >= 2**24:
        return (ones @ ones.T).toarray()
    dense = ones[:, used]
    product = np.zeros((ones.shape[0],) * 2, dtype=np.float32)
    step = max(1, DENSE_BLOCK_ELEMENTS // ones.shape[0])
    for start in range(0, len(used), step):
        block = dense[:, start : start + step].toarray().astype(np.float32)
        product += block @ block.T
    return product


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
    # A post without a site is labelled as such, not left out (a missing value is no name).
    sites = sites.astype(object).where(sites.notna(), NO_SITE)
    names = list(pd.unique(sites))
    index = sites.map({name: i for i, name in enumerate(names)}).to_numpy()
    part = np.cumsum(sizes.to_numpy()) // n
    means = pd.Series(index).groupby(part).mean().round()
    labels = means.reindex(range(k)).bfill().ffill()
    # No post ends inside the k parts (one long post, ending in the dropped remainder): all
    # parts lie inside the first post that ends, and take its label.
    labels = labels.fillna(means.iloc[0])
    return labels.to_numpy().astype(int), names


def describe_distances(distances: np.ndarray) -> str:
    """'from A to B' over the pairs of distinct parts, or what is odd about them."""
    apart = distances[distances > 0]
    if apart.size == 0:
        return "all 0: every part has the same trigrams"
    return f"from {apart.min():,.0f} to {distances.max():,.0f}"


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
