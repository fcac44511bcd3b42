"""Read a step's notebook once per run into one object: cells, kernel, parameters, imports.

The notebook is read as plain JSON: nbformat would validate the whole document against its
schema, and importing it costs about a second (jsonschema); reading parameters or hashing
imports needs neither. Everything a run needs from the file (its digest for the
fingerprint, the parameters cell, the modules to preload, the number of code cells for the
progress line, the kernel it asks for) comes from the one `StepNotebook`.
"""

import ast
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from nbsteps.errors import UsageError
from nbsteps.parameters import Parameter, find_parameters_cell, parse_parameters_cell


@dataclass(frozen=True)
class Cell:
    kind: str  # "code", "markdown" or "raw"
    source: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class LocalModule:
    """A module beside the notebook that it imports (directly or through another one)."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class StepNotebook:
    path: Path
    sha256: str  # of the file's bytes, as read
    cells: tuple[Cell, ...]
    kernel_name: str | None  # metadata.kernelspec.name, if the notebook names one
    language: str | None  # the kernel's language, from the kernelspec or language_info
    parameters: dict[str, Parameter]  # empty when no cell is tagged `parameters`
    has_parameters_cell: bool
    local_modules: tuple[LocalModule, ...]
    imports: tuple[str, ...]  # modules to preload: neither local nor standard library

    @property
    def code_cells(self) -> int:
        """Non-empty code cells: what the progress line counts."""
        return sum(1 for cell in self.cells if cell.kind == "code" and cell.source.strip())


def read_notebook(path: Path) -> StepNotebook:
    path = Path(path)
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
        cells = tuple(read_cell(cell) for cell in document["cells"])
        metadata = document.get("metadata") or {}
    except FileNotFoundError as error:
        raise UsageError(f"notebook {path} does not exist") from error
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UsageError(f"cannot read notebook {path}: {error}") from error
    kernelspec = metadata.get("kernelspec") or {}
    language_info = metadata.get("language_info") or {}
    language = kernelspec.get("language") or language_info.get("name")
    parameters_cell = find_parameters_cell(cells, path.name)
    # The cell is read as Python; another language's values are not checked (none declared).
    readable = parameters_cell is not None and (language or "python").lower() == "python"
    modules = find_local_modules(path.parent, cells)
    return StepNotebook(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        cells=cells,
        kernel_name=kernelspec.get("name"),
        language=language,
        parameters=parse_parameters_cell(parameters_cell.source, path.name) if readable else {},
        has_parameters_cell=parameters_cell is not None,
        local_modules=tuple(module for module, _ in modules),
        imports=find_imports(cells, modules),
    )


def read_cell(cell: dict) -> Cell:
    return Cell(
        kind=cell["cell_type"],
        source=join_source(cell.get("source", "")),
        tags=tuple(cell.get("metadata", {}).get("tags", ())),
    )


def read_cells(path: Path) -> list[Cell]:
    return list(read_notebook(path).cells)


def join_source(source: str | list[str]) -> str:
    """A cell's source is stored as one string or as a list of lines."""
    return source if isinstance(source, str) else "".join(source)


def code_sources(cells: tuple[Cell, ...]) -> list[str]:
    return [cell.source for cell in cells if cell.kind == "code"]


def find_local_modules(folder: Path, cells: tuple[Cell, ...]) -> list[tuple[LocalModule, str]]:
    """(module, its source) for each module in `folder` the cells import, directly or
    through each other, sorted by path; each file is read once."""
    pending = code_sources(cells)
    found: dict[str, tuple[LocalModule, str]] = {}
    while pending:
        for name in imported_names(pending.pop()):
            path = folder / f"{name}.py"
            if name not in found and path.is_file():
                raw = path.read_bytes()
                source = raw.decode("utf-8")
                found[name] = (LocalModule(path, hashlib.sha256(raw).hexdigest()), source)
                pending.append(source)
    return sorted(found.values(), key=lambda pair: pair[0].path)


def find_imports(
    cells: tuple[Cell, ...], modules: list[tuple[LocalModule, str]]
) -> tuple[str, ...]:
    """The modules (full dotted names: scipy.sparse, not scipy) the notebook and its local
    modules import; local and standard-library ones left out."""
    sources = code_sources(cells) + [source for _, source in modules]
    imported = set().union(*(imported_modules(source) for source in sources))
    skipped = {module.path.stem for module, _ in modules} | set(sys.stdlib_module_names)
    return tuple(sorted(name for name in imported if name.split(".")[0] not in skipped))


def imported_names(source: str) -> set[str]:
    """The top-level names of the modules `source` imports (`scipy` for scipy.sparse)."""
    return {module.split(".")[0] for module in imported_modules(source)}


def imported_modules(source: str) -> set[str]:
    """The modules `source` imports, by their full dotted names; relative imports left out."""
    # Notebook cells may hold IPython syntax (%matplotlib) that ast cannot read: drop it.
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def block_slow_optional_imports() -> None:
    """Make jsonschema skip its optional IRI-format checker in this process.

    nbformat validates notebooks with jsonschema, which imports `rfc3987_syntax` when it is
    installed (jupyter_server, beside Voila, brings it in): that import compiles a grammar
    for over a second, on every command, for a format nbformat's schema never uses.
    A None entry in sys.modules makes that optional import fail fast, as if not installed.
    Every process that imports nbformat calls it first: the CLI, the HTML worker and the
    dashboard's kernel.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
