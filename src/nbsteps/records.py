"""Run records: one JSON file per execution, the memory of what ran, with what, and how it went.

Layout under the outputs folder, one folder per step:
    <step>/<run_id>.json   the record      <step>/<run_id>.ipynb  the executed notebook
    <step>/<run_id>.html   its HTML copy   <step>/latest.*        links to the newest run
"""

import hashlib
import json
import logging
import os
import secrets
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("nbsteps")

# mkstemp makes owner-only files; records and HTML get what an ordinary write would give.
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK

# A record's status; "running" is written at the start so a crash still leaves a trace.
RUNNING, SUCCEEDED, FAILED, CANCELLED, SKIPPED = (
    "running", "succeeded", "failed", "cancelled", "skipped",
)
# Never written: how a "running" record reads once the process that wrote it is gone
# (killed with -9, a lost container, a machine that went down).
DIED = "died"
STATUSES = (RUNNING, SUCCEEDED, FAILED, CANCELLED, SKIPPED)
HOST = socket.gethostname()


class RecordError(ValueError):
    """A record file that does not fit the schema (or is no JSON at all)."""


@dataclass
class RunRecord:
    step: str
    run_id: str
    status: str
    started: str
    parameters: dict[str, Any]
    notebook: str
    html: str
    log: str
    ended: str | None = None
    duration_s: float | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    exit_code: int | None = None
    fingerprint: str | None = None
    reason: str | None = None  # why the step ran, or for a skip, which run it reuses
    reused_run: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)  # scalars of the step's metrics file
    cells: list[dict[str, Any]] = field(default_factory=list)  # {index, seconds, peak_rss_mb}
    peak_rss_mb: float | None = None  # the kernel's peak resident memory over the run
    upstream: dict[str, str] = field(default_factory=dict)  # input -> the run that wrote it
    kernel: str | None = None  # the kernelspec the notebook ran on
    pid: int | None = None  # the runner's process, to tell a live run from a dead one
    host: str | None = None  # the machine (container) it runs on

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "RunRecord":
        data = json.loads(text)
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


OPTIONAL_TEXT = (str, type(None))
OPTIONAL_NUMBER = (int, float, type(None))
# The type of each field the code reads; fields added by newer versions are not checked here.
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "step": (str,), "run_id": (str,), "status": (str,), "started": (str,),
    "parameters": (dict,), "notebook": (str,), "html": (str,), "log": (str,),
    "ended": OPTIONAL_TEXT, "duration_s": OPTIONAL_NUMBER, "inputs": (list,),
    "outputs": (list,), "error": OPTIONAL_TEXT, "exit_code": (int, type(None)),
    "fingerprint": (dict, str, type(None)), "reason": OPTIONAL_TEXT,
    "reused_run": OPTIONAL_TEXT, "pid": (int, type(None)), "host": OPTIONAL_TEXT,
    "metrics": (dict,), "cells": (list,), "peak_rss_mb": OPTIONAL_NUMBER,
    "upstream": (dict,), "kernel": OPTIONAL_TEXT,
}
REQUIRED_FIELDS = ("step", "run_id", "status", "started", "parameters", "notebook", "html", "log")


def check_record_fields(data: Any) -> None:
    """RecordError naming the first field that does not fit (what readers rely on)."""
    if not isinstance(data, dict):
        raise RecordError("not a JSON object")
    for name in REQUIRED_FIELDS:
        if name not in data:
            raise RecordError(f"no `{name}`")
    for name, kinds in FIELD_TYPES.items():
        value = data.get(name)
        if name in data and (not isinstance(value, kinds) or isinstance(value, bool)
                             and bool not in kinds):
            raise RecordError(f"`{name}` is {type(value).__name__}, not "
                              f"{' or '.join(k.__name__ for k in kinds)}")
    if data["status"] not in STATUSES:
        raise RecordError(f"unknown status {data['status']!r}")
    try:
        datetime.fromisoformat(data["started"])
    except ValueError:
        raise RecordError("`started` is not an ISO date and time") from None
    for name in ("inputs", "outputs"):
        for entry in data.get(name, []):
            if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                    and isinstance(entry.get("sha256"), str)):
                raise RecordError(f"an entry of `{name}` lacks a text path or sha256")
    if not all(is_cell_entry(cell) for cell in data.get("cells", [])):
        raise RecordError("`cells` is not a list of {index, seconds, peak_rss_mb}")


def is_cell_entry(value: Any) -> bool:
    numbers = (int, float, type(None))
    return (isinstance(value, dict) and isinstance(value.get("index"), int)
            and all(isinstance(value.get(key), numbers) for key in ("seconds", "peak_rss_mb")))


def describe_file(path: Path, root: Path) -> dict[str, Any]:
    """Path (relative to root), size and sha256, as the record lists inputs and outputs."""
    return {
        "path": str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
        "size": path.stat().st_size,
        "sha256": hash_file(path),
    }


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def host_label(host: str | None = None) -> str:
    """The host name as it appears in a temporary file's name (no dots)."""
    return (host or HOST).replace(".", "_")


def temporary_prefix(name: str) -> str:
    """`.<name>.nbsteps-<pid>@<host>.`: a temporary file says which process writes it, so
    that only files whose writer is gone are ever removed (see leftovers.py)."""
    return f".{name}.nbsteps-{os.getpid()}@{host_label()}."


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path.name),
                                         suffix=".tmp")
    try:
        os.chmod(temporary, FILE_MODE)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def link_latest(target: Path, link: Path) -> None:
    """Point `link` at `target` (same folder) with an atomic rename of a fresh symlink."""
    # A random part: the runs of a sweep link from threads of one process, and from
    # containers on one shared volume whose processes may all have the same pid.
    temporary = link.with_name(f".{link.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(os.path.relpath(target, link.parent))
    os.replace(temporary, link)


def record_path(outputs_dir: Path, step: str, run_id: str) -> Path:
    return outputs_dir / step / f"{run_id}.json"


def log_path(logs_dir: Path, step: str, run_id: str) -> Path:
    return logs_dir / step / f"{run_id}.log"


def write_record(outputs_dir: Path, record: RunRecord) -> Path:
    path = record_path(outputs_dir, record.step, record.run_id)
    write_text_atomic(path, record.to_json())
    return path


def read_record(path: Path) -> RunRecord:
    """The record in `path`; a "running" one whose process is gone reads as DIED.
    RecordError if it does not fit the schema; OSError if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RecordError("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RecordError(f"not JSON ({error})") from None
    check_record_fields(data)
    record = RunRecord.from_json(text)
    if record.status == RUNNING and is_process_gone(record):
        record.status = DIED
    return record


def read_record_or_warn(path: Path) -> RunRecord | None:
    """The record, or None with a warning naming the file: one bad file (a crash mid-write,
    a hand edit, a full disk) never stops a command that reads many."""
    try:
        return read_record(path)
    except FileNotFoundError:
        return None
    except (OSError, RecordError) as error:
        reason = error.strerror if isinstance(error, OSError) else error
        log.warning("skipping the run record %s: %s", path, reason)
        return None


def is_process_gone(record: RunRecord) -> bool:
    """Whether the process that wrote this "running" record has ended. Only a process of this
    host can be checked; a pid now used by a process started after the run is not it."""
    if record.pid is None or record.host != HOST:
        return False
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return started_after(record.pid, record.started)


def started_after(pid: int, started: str) -> bool:
    try:
        import psutil  # comes with ipykernel; without it, a reused pid counts as alive

        created = psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 (no psutil, or the process just ended)
        return False
    return created > datetime.fromisoformat(started).timestamp() + 1.0


def read_latest_records(outputs_dir: Path, steps: list[str]) -> dict[str, RunRecord | None]:
    """The newest record of each step (whatever its status), or None if it never ran."""
    latest = {}
    for step in steps:
        link = outputs_dir / step / "latest.json"
        record = read_record_or_warn(link) if link.exists() else None
        if record is None and link.exists():  # unreadable: the newest readable one instead
            record = next(iter(read_history(outputs_dir, [step], limit=1)), None)
        latest[step] = record
    return latest


def read_history(outputs_dir: Path, steps: list[str], limit: int | None = None) -> list[RunRecord]:
    """Records of all steps, newest first; files that cannot be read or do not fit the schema
    are passed over with a warning naming them."""
    records = []
    for step in steps:
        for path in (outputs_dir / step).glob("*.json"):
            if path.name == "latest.json":
                continue
            record = read_record_or_warn(path)
            if record is not None:
                records.append(record)
    records.sort(key=lambda record: record.started, reverse=True)
    return records[:limit] if limit else records
