"""A notebook is read once into a StepNotebook: everything a run needs from the file."""

import hashlib

import nbformat
import pytest

from nbsteps.errors import UsageError
from nbsteps.notebook import read_notebook
from tests.small_project import write_notebook


def test_one_read_gives_digest_cells_kernel_parameters_and_imports(tmp_path):
    (tmp_path / "helpers.py").write_text("import scipy.sparse\nimport json\n")
    path = write_notebook(
        tmp_path / "fit.ipynb", "k = 3  # parts [1..]",
        "import pandas as pd\nimport helpers\nfrom sklearn.decomposition import PCA",
        "%matplotlib inline\nimport matplotlib.pyplot as plt", "",
        kernelspec={"name": "my-env", "language": "python", "display_name": "Mine"},
    )
    notebook = read_notebook(path)
    assert notebook.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (notebook.kernel_name, notebook.language) == ("my-env", "python")
    assert notebook.has_parameters_cell and notebook.parameters["k"].minimum == 1
    assert notebook.code_cells == 3  # the empty cell is not counted
    assert [m.path.name for m in notebook.local_modules] == ["helpers.py"]
    assert notebook.local_modules[0].sha256 == hashlib.sha256(
        (tmp_path / "helpers.py").read_bytes()).hexdigest()
    assert notebook.imports == ("matplotlib.pyplot", "pandas", "scipy.sparse",
                                "sklearn.decomposition")


def test_a_notebook_without_a_parameters_cell_has_none(tmp_path):
    notebook = read_notebook(write_notebook(tmp_path / "plain.ipynb", None, "x = 1"))
    assert not notebook.has_parameters_cell and notebook.parameters == {}


def test_two_parameters_cells_are_refused(tmp_path):
    path = write_notebook(tmp_path / "two.ipynb", "a = 1", "b = 2")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, path)
    with pytest.raises(UsageError, match="has 2 cells tagged `parameters`; keep the tag on one"):
        read_notebook(path)


def test_a_missing_notebook_is_named(tmp_path):
    with pytest.raises(UsageError, match=f"notebook {tmp_path}/gone.ipynb does not exist"):
        read_notebook(tmp_path / "gone.ipynb")
