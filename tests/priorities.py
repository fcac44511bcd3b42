"""What a process's CPU priority is, read from /proc as the scheduler sees it: its niceness
and its session's (None without autogroup scheduling, where only the first counts)."""

from pathlib import Path


def read_priorities(pid: int | str = "self") -> tuple[int, int | None]:
    niceness = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    autogroup = Path(f"/proc/{pid}/autogroup")
    session = int(autogroup.read_text().split()[-1]) if autogroup.exists() else None
    return niceness, session


def lowered_by(niceness: int, base: tuple[int, int | None]) -> tuple[int, int | None]:
    """`base` priorities, `niceness` lower (its session too, where there are sessions)."""
    process, session = base
    return process + niceness, None if session is None else session + niceness
