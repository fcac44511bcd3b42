"""Read a notebook's cells as plain JSON.

nbformat would validate the whole document against its schema, and importing it costs
about a second (jsonschema); reading parameters or hashing imports needs neither.
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from nbsteps.errors import UsageError


@dataclass(frozen=True)
class Cell:
    kind: str  # "code", "markdown" or "raw"
    source: str
    tags: tuple[str, ...]


def read_cells(path: Path) -> list[Cell]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return [
            Cell(
                kind=cell["cell_type"],
                source=join_source(cell.get("source", "")),
                tags=tuple(cell.get("metadata", {}).get("tags", ())),
            )
            for cell in document["cells"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"cannot read notebook {path}: {error}") from error


def join_source(source: str | list[str]) -> str:
    """A cell's source is stored as one string or as a list of lines."""
    return source if isinstance(source, str) else "".join(source)


def count_code_cells(path: Path) -> int:
    return sum(1 for cell in read_cells(path) if cell.kind == "code" and cell.source.strip())


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
