import os

import pytest

from tests.notebook_modules import atomic


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "posts.parquet"
    target.write_text("good")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["posts.parquet"]


def test_a_successful_write_replaces_the_file(tmp_path):
    target = tmp_path / "new" / "plot.png"
    with atomic.atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.endswith(".tmp")
        temporary.write_bytes(b"png")
    assert target.read_bytes() == b"png"
    assert target.stat().st_mode & 0o777 == ordinary_mode()  # as open() would make it


def ordinary_mode() -> int:
    """The permissions a plain open() gives a new file here: 0666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
