"""The example's own image checks: each of its images imports what its notebook needs and
cannot import what another step's notebook needs (isolation shown by import)."""

import json

import pytest

from tests.containers.conftest import IMPORT_CHECK, in_image

pytestmark = pytest.mark.containers

# What each image must import, and what it must not be able to.
IMPORTS = {
    "ingest": (["nbsteps", "papermill", "ipykernel", "nbconvert", "yaml", "urllib.request"],
               ["pandas", "sklearn", "numpy", "matplotlib", "scipy", "pyarrow"]),
    "preprocess": (["nbsteps", "papermill", "pandas", "pyarrow"],
                   ["sklearn", "matplotlib", "scipy"]),
    # fastparquet reads the table: pyarrow would add 163 MB to the image.
    "model": (["nbsteps", "papermill", "pandas", "fastparquet", "numpy", "scipy", "sklearn",
               "matplotlib"], ["pyarrow"]),
}


@pytest.mark.parametrize("step", list(IMPORTS))
def test_image_imports_only_what_its_notebook_needs(images, step):
    wanted, forbidden = IMPORTS[step]
    result = in_image(images.names[step], "python3", "-c", IMPORT_CHECK, *wanted, *forbidden)
    found = json.loads(result.stdout)
    assert [m for m in wanted if not found[m]] == [], f"{step} lacks modules it needs"
    assert [m for m in forbidden if found[m]] == [], f"{step} can import what it must not"
