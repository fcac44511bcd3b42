"""Run several steps in graph order, stopping at the first one that does not succeed.

Steps run one after the other in the project's order (each after the steps writing its
inputs), or with `jobs` > 1 side by side, each on a thread and kernel of its own, a step
starting as soon as the steps it depends on are done.
"""

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from nbsteps import graph
from nbsteps.errors import NbstepsError, ParameterError, UsageError
from nbsteps.execute import (
    DEFAULT_OPTIONS,
    RunOptions,
    import_runner_modules,
    resolve_parameters,
    run_step,
)
from nbsteps.export import HtmlWorker
from nbsteps.kernel_names import choose_kernel
from nbsteps.kernels import KernelPrestarter
from nbsteps.notebook import StepNotebook, read_notebook
from nbsteps.project import Project
from nbsteps.prune import apply_retention
from nbsteps.records import SKIPPED, SUCCEEDED, RunRecord

# How often the scheduler wakes to notice Ctrl-C while steps run side by side.
SCHEDULER_TICK_S = 0.5


def select_steps(project: Project, names: list[str], upstream: bool = False) -> list[str]:
    """`all` or step names (with `upstream`, and every step they depend on), returned in
    the project's run order whatever order they were given in."""
    if not names:
        raise UsageError("name a step or `all`; the steps are: " + ", ".join(project.steps))
    if "all" in names:
        return list(project.steps)
    for name in names:
        project.step(name)  # raises for an unknown name
    chosen = graph.upstream_of(project.dependencies(), names) if upstream else set(names)
    return [name for name in project.steps if name in chosen]


def split_overrides(
    project: Project, steps: list[str], overrides: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Give each step its `-p` values: `train.k=200` goes to train only; a plain `k=200`
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
    steps = select_steps(project, names, options.upstream)
    per_step = split_overrides(project, steps, overrides or {})
    # Each notebook is read once for the whole run.
    notebooks = {step: read_notebook(project.step(step).notebook) for step in steps}
    kernels = {}
    for step in steps:  # every step's parameters and kernel are checked before the first runs
        kernels[step] = choose_kernel(project.step(step), notebooks[step])
        resolve_parameters(project.step(step), per_step[step], notebooks[step])
    prestarter = KernelPrestarter([(step, notebooks[step], kernels[step]) for step in steps])
    # HTML copies are written by a process of their own while the next step runs: no step
    # reads them, so they need not hold up the pipeline; all are written before returning.
    exporter = HtmlWorker()
    step_options = replace(options, publish_html=exporter.submit, kernels=prestarter,
                           on_execute=exporter.start)
    try:
        run = run_side_by_side if options.jobs > 1 and len(steps) > 1 else run_in_order
        records = run(project, steps, per_step, notebooks, step_options)
    finally:
        prestarter.close()
        exporter.finish()
    apply_retention(project)  # pipeline.yaml's `retention:`, if any: old runs go
    return records


def run_in_order(
    project: Project, steps: list[str], per_step: dict[str, dict[str, str]],
    notebooks: dict[str, StepNotebook], options: RunOptions,
) -> list[RunRecord]:
    records = []
    for step in steps:
        record = run_step(project, step, per_step[step], options, notebooks[step])
        records.append(record)
        if record.status not in (SUCCEEDED, SKIPPED):
            break
    return records


def run_side_by_side(
    project: Project, steps: list[str], per_step: dict[str, dict[str, str]],
    notebooks: dict[str, StepNotebook], options: RunOptions,
) -> list[RunRecord]:
    """Up to `options.jobs` steps at once, each once the steps it reads from are done.

    After a failure (or a refusal: a missing input) no further step starts; those running
    finish. The records come in the order the steps ended, the one that stopped last.
    """
    dependencies = project.dependencies()
    waiting = {step: [d for d in dependencies[step] if d in steps] for step in steps}
    import_runner_modules()  # on this thread: two threads importing papermill at once clash
    done: set[str] = set()
    records: list[RunRecord] = []
    stopped: RunRecord | None = None
    refused: NbstepsError | None = None
    running: dict[Future, str] = {}
    with ThreadPoolExecutor(options.jobs, thread_name_prefix="nbsteps-step") as pool:
        while True:
            cancelled = options.cancel is not None and options.cancel.is_set()
            if stopped is None and refused is None and not cancelled:
                for step in [s for s in waiting if all(d in done for d in waiting[s])]:
                    if len(running) >= options.jobs:
                        break
                    del waiting[step]
                    running[pool.submit(run_step, project, step, per_step[step], options,
                                        notebooks[step])] = step
            if not running:
                break
            finished, _ = wait(running, timeout=SCHEDULER_TICK_S, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                try:
                    record = future.result()
                except NbstepsError as error:  # nothing ran: bad input, reported at the end
                    refused = refused or error
                    continue
                records.append(record)
                if record.status in (SUCCEEDED, SKIPPED):
                    done.add(step)
                elif stopped is None:
                    stopped = record
    if refused is not None and stopped is None:
        raise refused
    if stopped is not None:
        records.remove(stopped)
        records.append(stopped)
    return records
