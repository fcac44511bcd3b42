"""Write data files so that no reader ever sees half of one.

Each file is written under a temporary name in its own folder, then renamed into place:
a rename within a folder is atomic, so a step that fails or is killed mid-write leaves the
previous good file (if any) where the next step reads, and only a
`.<name>.nbsteps-<pid>@<host>.*.tmp` file behind, which nbsteps removes once that process
(this kernel) is gone.
"""

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# mkstemp creates files readable by their owner only; give the final file the permissions
# an ordinary write would (0666 less the umask), so other users and containers can read it.
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def temporary_prefix(final: Path) -> str:
    """`.<name>.nbsteps-<pid>@<host>.`: the temporary file names its writer, so that nbsteps
    removes it only once this process is gone, never while it is still writing."""
    host = socket.gethostname().replace(".", "_")
    return f".{final.name}.nbsteps-{os.getpid()}@{host}."


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it becomes `path`, on error it is gone."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=final.parent, prefix=temporary_prefix(final),
                                         suffix=".tmp")
    os.close(handle)
    os.chmod(temporary, FILE_MODE)
    try:
        yield Path(temporary)
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
