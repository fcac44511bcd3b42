"""Run several steps in pipeline order, stopping at the first one that does not succeed."""

from dataclasses import replace

from nbsteps.errors import ParameterError, UsageError
from nbsteps.execute import DEFAULT_OPTIONS, RunOptions, resolve_parameters, run_step
from nbsteps.export import HtmlWorker
from nbsteps.kernels import KernelPrestarter
from nbsteps.notebook import read_notebook
from nbsteps.project import Project
from nbsteps.prune import apply_retention
from nbsteps.records import SKIPPED, SUCCEEDED, RunRecord


def select_steps(project: Project, names: list[str]) -> list[str]:
    """`all` or step names, returned in pipeline order whatever order they were given in."""
    if not names:
        raise UsageError("name a step or `all`; the steps are: " + ", ".join(project.steps))
    if "all" in names:
        return list(project.steps)
    for name in names:
        project.step(name)  # raises for an unknown name
    return [name for name in project.steps if name in names]


def split_overrides(
    project: Project, steps: list[str], overrides: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Give each step its `-p` values: `model.k=200` goes to model only; a plain `k=200`
    goes to every selected step, and must name a step when several run."""
    per_step: dict[str, dict[str, str]] = {step: {} for step in steps}
    for name, value in overrides.items():
        step, dot, plain = name.rpartition(".")
        if dot:
            if step not in per_step:
                raise ParameterError(f"-p {name}: {step!r} is not one of the steps run: "
                                     f"{', '.join(steps)}")
            per_step[step][plain] = value
        elif len(steps) == 1:
            per_step[steps[0]][name] = value
        else:
            raise ParameterError(
                f"-p {name}: several steps run, so qualify the name with its step, "
                f"for example -p {steps[-1]}.{name}={value}"
            )
    return per_step


def run_steps(
    project: Project,
    names: list[str],
    overrides: dict[str, str] | None = None,
    options: RunOptions = DEFAULT_OPTIONS,
) -> list[RunRecord]:
    """Run the steps in order; the records of those that ran, the last one the one that stopped."""
    steps = select_steps(project, names)
    per_step = split_overrides(project, steps, overrides or {})
    # Each notebook is read once for the whole run.
    notebooks = {step: read_notebook(project.step(step).notebook) for step in steps}
    for step in steps:  # every step's parameters are checked before the first one runs
        resolve_parameters(project.step(step), per_step[step], notebooks[step])
    records = []
    kernels = KernelPrestarter(list(notebooks.items()))
    # HTML copies are written by a process of their own while the next step runs: no step
    # reads them, so they need not hold up the pipeline; all are written before returning.
    exporter = HtmlWorker()
    step_options = replace(options, publish_html=exporter.submit, kernels=kernels,
                           on_execute=exporter.start)
    try:
        for step in steps:
            record = run_step(project, step, per_step[step], step_options, notebooks[step])
            records.append(record)
            if record.status not in (SUCCEEDED, SKIPPED):
                break
    finally:
        kernels.close()
        exporter.finish()
    apply_retention(project)  # pipeline.yaml's `retention:`, if any: old runs go
    return records
