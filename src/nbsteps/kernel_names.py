"""Which kernel a step's notebook runs on, checked to be installed before anything runs.

The step's `kernel:` in pipeline.yaml wins, else the kernelspec the notebook's metadata
names. A kernel that is not installed stops the step with a clear line: running the notebook
on another interpreter instead (an R notebook on python3) would be a silent lie.
"""

import functools

from nbsteps.errors import UsageError
from nbsteps.notebook import StepNotebook
from nbsteps.project import Step

# Only for a notebook whose metadata names no kernel at all (papermill would refuse it).
FALLBACK_KERNEL = "python3"


def choose_kernel(step: Step, notebook: StepNotebook) -> str:
    """The kernelspec name to run `step` on; UsageError if it is not installed."""
    if step.kernel:
        name, source = step.kernel, "its `kernel:` in pipeline.yaml"
    elif notebook.kernel_name:
        name, source = notebook.kernel_name, f"the metadata of {notebook.path.name}"
    else:
        return FALLBACK_KERNEL
    if name not in installed_kernels():
        raise UsageError(
            f"{step.name}: kernel {name!r} (from {source}) is not installed here; "
            f"`jupyter kernelspec list` shows the installed ones ({', '.join(installed_kernels())})"
            f": install it, or name one of them with `kernel:` for the step in pipeline.yaml"
        )
    return name


@functools.cache
def installed_kernels() -> tuple[str, ...]:
    """The kernelspec names jupyter_client finds (the same search papermill makes)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return tuple(sorted(KernelSpecManager().find_kernel_specs()))
