"""The modules beside the notebooks (authorship, posts, corpus, atomic), importable in tests
the way the notebooks import them: from the notebooks folder."""

import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "notebooks"))

import atomic  # noqa: E402
import authorship  # noqa: E402
import corpus  # noqa: E402
import posts  # noqa: E402
import worklist  # noqa: E402

__all__ = ["atomic", "authorship", "corpus", "posts", "worklist"]
