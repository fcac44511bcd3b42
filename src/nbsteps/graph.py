"""Steps form a graph: a step depends on the steps that write its inputs.

An input names a file below the data folder. It refers to a step's output when it is that
output's path, or, for a per-run output such as `out/{run_id}/table.csv`, when it is written
`out/latest/table.csv` or `out/{run_id}/table.csv`: both mean the file in the producing
step's current run (see inputs.py). Steps run in an order where every producer comes
before its readers; steps that do not depend on each other keep their listing order.
"""

from collections.abc import Iterable, Mapping
from typing import Protocol

RUN_ID_FIELD = "{run_id}"
LATEST = "latest"


class StepLike(Protocol):
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def refers_to(path: str, output: str) -> bool:
    """True if the data path `path` (as an input names it) is the file `output` declares."""
    if path == output:
        return True
    return RUN_ID_FIELD in output and path == output.replace(RUN_ID_FIELD, LATEST)


def is_run_of(path: str, output: str, step: str) -> bool:
    """True if `path` is `output` in one concrete run of `step` (run ids start `<step>_`)."""
    if RUN_ID_FIELD not in output:
        return False
    before, after = output.split(RUN_ID_FIELD, 1)
    if not (path.startswith(before) and path.endswith(after)):
        return False
    middle = path[len(before) : len(path) - len(after)]
    return middle.startswith(f"{step}_") and "/" not in middle


def producer_of(steps: Iterable[StepLike], path: str) -> str | None:
    """The step that writes the data path `path` (declared, `latest` or one run's), or None."""
    for step in steps:
        for output in step.outputs:
            if refers_to(path, output) or is_run_of(path, output, step.name):
                return step.name
    return None


def find_dependencies(steps: Mapping[str, StepLike]) -> dict[str, list[str]]:
    """For each step, the steps that write its inputs, in listing order."""
    dependencies = {}
    for name, step in steps.items():
        producers = {producer_of(steps.values(), path) for path in step.inputs}
        dependencies[name] = [other for other in steps if other in producers]
    return dependencies


def find_cycle(dependencies: Mapping[str, list[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a] (a reads what b writes ...), or None."""
    state: dict[str, str] = {}  # "open" while on the path being explored, then "done"
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "open"
        path.append(name)
        for upstream in dependencies[name]:
            if state.get(upstream) == "open":
                return path[path.index(upstream) :] + [upstream]
            if upstream not in state and (cycle := visit(upstream)):
                return cycle
        state[name] = "done"
        path.pop()
        return None

    for name in dependencies:
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def order_steps(dependencies: Mapping[str, list[str]]) -> list[str]:
    """Every step after the steps it depends on; ties keep the listing order.

    The graph must have no cycle (checked when the pipeline file is loaded).
    """
    ordered: list[str] = []
    pending = list(dependencies)
    while pending:
        ready = next(n for n in pending if all(d in ordered for d in dependencies[n]))
        ordered.append(ready)
        pending.remove(ready)
    return ordered


def upstream_of(dependencies: Mapping[str, list[str]], names: Iterable[str]) -> set[str]:
    """`names` and every step they depend on, directly or not."""
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(dependencies[name])
    return found
