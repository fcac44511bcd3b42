"""Run records: one JSON file per execution, the memory of what ran, with what, and how it went.

Layout under the outputs folder, one folder per step:
    <step>/<run_id>.json   the record      <step>/<run_id>.ipynb  the executed notebook
    <step>/<run_id>.html   its HTML copy   <step>/latest.*        links to the newest run
"""

import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# mkstemp makes owner-only files; records and HTML get what an ordinary write would give.
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK

# A record's status; "running" is written at the start so a crash still leaves a trace.
RUNNING, SUCCEEDED, FAILED, CANCELLED, SKIPPED = (
    "running", "succeeded", "failed", "cancelled", "skipped",
)


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "RunRecord":
        data = json.loads(text)
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


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


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
    return RunRecord.from_json(path.read_text(encoding="utf-8"))


def read_latest_records(outputs_dir: Path, steps: list[str]) -> dict[str, RunRecord | None]:
    """The newest record of each step (whatever its status), or None if it never ran."""
    latest = {}
    for step in steps:
        link = outputs_dir / step / "latest.json"
        latest[step] = read_record(link) if link.exists() else None
    return latest


def read_history(outputs_dir: Path, steps: list[str], limit: int | None = None) -> list[RunRecord]:
    """Records of all steps, newest first; unreadable files (a crash mid-write) are passed over."""
    records = []
    for step in steps:
        for path in (outputs_dir / step).glob("*.json"):
            if path.name == "latest.json":
                continue
            try:
                records.append(read_record(path))
            except (OSError, ValueError, TypeError):
                continue
    records.sort(key=lambda record: record.started, reverse=True)
    return records[:limit] if limit else records
