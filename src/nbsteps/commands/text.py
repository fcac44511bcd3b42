"""How the run commands write numbers, parameters and metrics on a terminal."""

import sys
from typing import Any

from nbsteps.metrics import format_value


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def format_mb(megabytes: float | None) -> str:
    return "-" if megabytes is None else f"{megabytes:.0f} MB"


def format_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def format_pairs(values: dict[str, Any]) -> str:
    """Metrics as `name=value`, floats rounded to what a person compares."""
    return " ".join(f"{name}={format_value(value)}" for name, value in values.items())


def format_parameters(values: dict[str, Any]) -> str:
    """Parameters exactly as they were given: `scale=2.0`, not rounded."""
    return " ".join(f"{name}={value}" for name, value in values.items())


def format_started(started: str) -> str:
    return started[:19].replace("T", " ")


def warn_unreadable(problems, consequence: str) -> None:
    """One warning line per record file that could not be read, on stderr."""
    for problem in problems:
        print(f"nbsteps: warning: {problem.describe()}; {consequence}", file=sys.stderr)
