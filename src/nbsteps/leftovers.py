"""What a run leaves behind when it fails or dies, and who may remove it.

Data files are written under a temporary name `.<name>.<writer>.<random>.tmp` beside the
final file, where `<writer>` is `nbsteps-<pid>@<host>`, the process that writes it (the
notebook's kernel; `temporary_prefix` makes that name). A temporary file is removed only
once its writer is gone: a failing run never removes the file a healthy run of the same
step is writing, and the next run of a step removes what a killed run left. Files named
otherwise are left alone: nbsteps cannot tell whose they are.
"""

import logging
import os
import re
import shutil
from pathlib import Path

from nbsteps.project import Project, Step
from nbsteps.records import DIED, RunRecord, host_label, read_history

log = logging.getLogger("nbsteps")

WRITER = re.compile(r"\.nbsteps-(?P<pid>\d+)@(?P<host>[^.]+)\.[^.]*\.tmp$")


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphan_temporaries(folders: list[Path]) -> list[Path]:
    """Remove the temporary files in `folders` whose writer, on this host, is gone."""
    here = host_label()
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.glob(".*.tmp"):
            writer = WRITER.search(path.name)
            if writer and writer["host"] == here and not is_alive(int(writer["pid"])):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def output_folders(project: Project, step: Step, run_id: str) -> list[Path]:
    data = project.folders.data
    return sorted({path.parent for path in step.output_paths(data, run_id)})


def clean_died_runs(project: Project, step: Step) -> list[RunRecord]:
    """Remove what runs of `step` whose process is gone left behind (their own folders and
    their writers' temporary files), and say so; returns those runs."""
    died = [r for r in read_history(project.folders.outputs, [step.name]) if r.status == DIED]
    removed: list[Path] = []
    for record in died:
        for folder in step.run_folders(project.folders.data, record.run_id):
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    folders = output_folders(project, step, "{run_id}")
    removed += remove_orphan_temporaries([f for f in folders if "{run_id}" not in str(f)])
    if died and removed:
        names = ", ".join(r.run_id for r in died)
        log.warning("%s: run %s died (its process is gone); removed what it left: %s",
                    step.name, names, ", ".join(str(p) for p in removed))
    return died
