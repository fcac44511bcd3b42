"""How many runs to keep: the `retention:` section of pipeline.yaml, or `nbsteps prune` options.

    retention:
      keep: 20             # the newest runs of each step that are always kept
      older_than_days: 30  # and of the others, only those older than this are removed
"""

from dataclasses import dataclass

from nbsteps.errors import UsageError

SECTION_KEYS = {"keep", "older_than_days"}


@dataclass(frozen=True)
class Retention:
    keep: int | None = None  # runs of each step kept, newest first
    older_than_days: float | None = None  # only runs older than this are removed


def check_retention(section: object) -> Retention | None:
    """The `retention:` section checked, or None when there is none."""
    if section is None:
        return None
    if not isinstance(section, dict) or not section:
        raise UsageError("pipeline.yaml: `retention:` must be a mapping such as "
                         "{keep: 20, older_than_days: 30}")
    unknown = sorted(set(section) - SECTION_KEYS)
    if unknown:
        raise UsageError(f"pipeline.yaml: retention: unknown key {unknown[0]!r}; "
                         f"the keys are {', '.join(sorted(SECTION_KEYS))}")
    return Retention(
        keep=check_count("retention: keep", section.get("keep")),
        older_than_days=check_days("retention: older_than_days", section.get("older_than_days")),
    )


def check_count(label: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{label} must be a whole number of runs, 0 or more (got {value!r})")
    return value


def check_days(label: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{label} must be a number of days, 0 or more (got {value!r})")
    return float(value)
