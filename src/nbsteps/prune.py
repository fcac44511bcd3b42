"""Remove old runs: their record, executed notebook, HTML copy, log and own data folder.

Never removed, whatever the policy: the newest run of each step (the `latest` links point
at it), each step's latest successful run, a run in progress, and any run that a kept run
depends on: the run a kept skip reused, and the runs that wrote a kept run's inputs, all
the way up. A record that cannot be read is reported and left alone.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbsteps.history import RecordProblem, Runs, load_runs, run_files, started_at
from nbsteps.project import Project
from nbsteps.provenance import upstream_runs
from nbsteps.records import RUNNING, SKIPPED, SUCCEEDED, RunRecord
from nbsteps.retention import Retention, check_retention

log = logging.getLogger("nbsteps")


@dataclass
class Removal:
    record: RunRecord
    paths: list[Path]  # what is there to remove (files and folders)
    size: int  # bytes
    missing: list[str]  # parts already gone: "notebook", "data folder ..."


@dataclass
class PruneReport:
    removals: list[Removal] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    kept: int = 0
    dry_run: bool = False

    @property
    def freed(self) -> int:
        return sum(removal.size for removal in self.removals)


def prune_runs(project: Project, policy: Retention, dry_run: bool = False,
               now: datetime | None = None) -> PruneReport:
    runs = load_runs(project)
    doomed = select_removable(runs, policy, now or datetime.now(UTC))
    report = PruneReport(problems=runs.problems, kept=len(runs.records) - len(doomed),
                         dry_run=dry_run)
    for record in doomed:
        removal = describe_removal(project, record)
        if not dry_run:
            remove_paths(removal.paths)
        report.removals.append(removal)
    return report


def apply_retention(project: Project) -> PruneReport | None:
    """After a run: prune as pipeline.yaml's `retention:` says, if it says anything.
    A file that cannot be removed is logged, never fails the run that just finished."""
    policy = check_retention(project.settings.get("retention"))
    if policy is None:
        return None
    try:
        report = prune_runs(project, policy)
    except OSError as error:
        log.warning("retention: could not remove an old run: %s", error)
        return None
    if report.removals:
        log.info("retention: removed %d old run(s), %d bytes", len(report.removals),
                 report.freed)
    return report


def select_removable(runs: Runs, policy: Retention, now: datetime) -> list[RunRecord]:
    """The runs the policy lets go, minus every run something kept still needs."""
    by_step: dict[str, list[RunRecord]] = {}
    for record in runs.records:  # newest first
        by_step.setdefault(record.step, []).append(record)
    protected = set()
    for records in by_step.values():
        protected.add(records[0].run_id)
        latest_success = next((r for r in records if r.status == SUCCEEDED), None)
        if latest_success is not None:
            protected.add(latest_success.run_id)
    candidates = {
        record.run_id
        for records in by_step.values()
        for position, record in enumerate(records)
        if record.run_id not in protected and record.status != RUNNING
        and beyond_policy(policy, position, started_at(record), now)
    }
    needed = needed_runs(runs, keep={r.run_id for r in runs.records} - candidates)
    return [record for record in runs.records if record.run_id in candidates - needed]


def beyond_policy(policy: Retention, position: int, started: datetime, now: datetime) -> bool:
    if policy.keep is not None and position < policy.keep:
        return False
    if policy.older_than_days is not None:
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        return now - started > timedelta(days=policy.older_than_days)
    return policy.keep is not None


def needed_runs(runs: Runs, keep: set[str]) -> set[str]:
    """Every run the kept ones depend on, directly or through others."""
    by_id = runs.by_id()
    needed, pending = set(), list(keep)
    while pending:
        record = by_id.get(pending.pop())
        if record is None:
            continue
        for dependency in dependencies(runs, record):
            if dependency not in needed:
                needed.add(dependency)
                pending.append(dependency)
    return needed


def dependencies(runs: Runs, record: RunRecord) -> set[str]:
    found = {writer.run_id for writer in upstream_runs(runs, record).values() if writer}
    if record.reused_run:
        found.add(record.reused_run)
    found.update(run_id for run_id in record.upstream.values() if run_id)  # as recorded
    return found


def describe_removal(project: Project, record: RunRecord) -> Removal:
    """What of a run is on disk, in the order to remove it: data and notebooks first, the
    record last, so a prune stopped half-way leaves the record and the next one finishes."""
    files = run_files(project, record)
    expected = {}
    if record.status != SKIPPED:  # a skip wrote only its record; the rest is its origin's
        expected = {f"data folder {p.name}": p for p in files.data_folders} | {
            "notebook": files.notebook, "HTML": files.html, "log": files.log}
    own = [*expected.values(), files.log, files.record]
    failed_data = record.status != SUCCEEDED  # a failed run's data folder was never kept
    return Removal(
        record=record,
        paths=[path for path in own if path.exists() or path.is_symlink()],
        size=sum(size_of(path) for path in own),
        missing=[name for name, path in expected.items() if not path.exists()
                 and not (failed_data and name.startswith("data folder"))],
    )


def size_of(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    if path.is_dir():
        return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def remove_paths(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
