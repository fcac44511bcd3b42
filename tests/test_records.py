import os

from nbsteps.records import (
    RunRecord,
    link_latest,
    read_history,
    read_latest_records,
    write_record,
    write_text_atomic,
)


def make_record(step, run_id, started, status="succeeded"):
    return RunRecord(step=step, run_id=run_id, status=status, started=started, parameters={"k": 1},
                     notebook="n.ipynb", html="n.html", log="n.log")


def test_records_round_trip_and_history_is_newest_first(tmp_path):
    write_record(tmp_path, make_record("model", "m1", "2026-01-01T00:00:00"))
    write_record(tmp_path, make_record("model", "m2", "2026-01-03T00:00:00", "failed"))
    write_record(tmp_path, make_record("ingest", "i1", "2026-01-02T00:00:00"))
    (tmp_path / "model" / "broken.json").write_text("{")  # a crash mid-write is passed over
    history = read_history(tmp_path, ["ingest", "model"])
    assert [r.run_id for r in history] == ["m2", "i1", "m1"]
    assert read_history(tmp_path, ["ingest", "model"], limit=1)[0].status == "failed"


def test_latest_record_follows_the_link(tmp_path):
    path = write_record(tmp_path, make_record("model", "m1", "2026-01-01T00:00:00"))
    assert read_latest_records(tmp_path, ["model"]) == {"model": None}
    link_latest(path, path.parent / "latest.json")
    assert read_latest_records(tmp_path, ["model"])["model"].run_id == "m1"
    assert os.readlink(path.parent / "latest.json") == "m1.json"  # relative: survives a move


def test_atomic_write_leaves_no_temporary_and_readable_permissions(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it
