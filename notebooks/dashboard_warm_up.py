"""Warm-up for the dashboard's model kernel (pipeline.yaml: `dashboard.steps.model.warm_up`).

nbsteps imports what 3.model.ipynb imports in the kernel it keeps ready; this file then
runs there, in a namespace of its own, before the click. Importing is not all: the first
sparse product, distance matrix, PCA and drawn figure of a process pay for lazy imports,
fonts and caches (about a second in all), so each is made once here on a few numbers.
"""

import io

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from scipy.spatial.distance import pdist
from sklearn.decomposition import PCA

counts = np.array([[1, 0, 2, 0], [0, 3, 1, 1], [2, 1, 0, 4]])
pdist(counts.astype(float), "cityblock")
ones = sp.csr_matrix(counts >= 1, dtype=np.int64)
shared = (ones @ ones.T).toarray().astype(float)
PCA(n_components=2, svd_solver="full").fit_transform(shared)
figure, axes = plt.subplots(figsize=(2, 2))
axes.scatter([0, 1], [1, 0], label="warm-up")
axes.set_title("warm-up")
axes.legend(title="warm-up")
figure.savefig(io.BytesIO(), format="png")
plt.close(figure)
