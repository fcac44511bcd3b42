"""A step's metrics: the scalars of one JSON output it declares (`metrics:` in pipeline.yaml).

They are copied into the run record, so `history`, `show`, `diff` and the dashboard can set
runs side by side without opening their files. Nested objects give dotted names
(`scores.f1`); lists are left out: they are data, not a figure to compare.
"""

import json
from pathlib import Path
from typing import Any

from nbsteps.errors import UsageError

Scalar = str | int | float | bool | None


def check_metrics_entry(step: str, metrics: object, outputs: tuple[str, ...]) -> str | None:
    """The `metrics:` value of a step in pipeline.yaml: None, or one of its own outputs."""
    if metrics is None:
        return None
    if not isinstance(metrics, str) or metrics not in outputs:
        raise UsageError(
            f"pipeline.yaml: step {step!r} has metrics: {metrics!r}, which is not one of its "
            f"outputs; name a JSON file listed under its `outputs:` ({', '.join(outputs)})"
        )
    if not metrics.endswith(".json"):
        raise UsageError(f"pipeline.yaml: step {step!r}: metrics: {metrics} must be a .json file")
    return metrics


def read_metrics(path: Path) -> dict[str, Scalar]:
    """The scalar values of a JSON object, nested keys joined by dots; raises ValueError
    naming the file when it is not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not readable JSON ({error})") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a JSON {type(data).__name__}, not an object of metrics")
    return flatten_scalars(data)


def flatten_scalars(data: dict[str, Any], prefix: str = "") -> dict[str, Scalar]:
    flat: dict[str, Scalar] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten_scalars(value, f"{name}.")
        elif value is None or isinstance(value, str | int | float | bool):
            flat[name] = value
    return flat


def format_value(value: Scalar) -> str:
    """A metric as a person reads it: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)
