"""nbsteps: run a pipeline of parameterized Jupyter notebooks with papermill."""

from nbsteps.errors import MissingInputError, NbstepsError, ParameterError, UsageError
from nbsteps.execute import RunOptions, run_step
from nbsteps.parameters import Parameter, read_parameters
from nbsteps.pipeline import run_steps
from nbsteps.project import Project, load_project
from nbsteps.records import RunRecord, read_history, read_latest_records

__all__ = [
    "MissingInputError",
    "NbstepsError",
    "Parameter",
    "ParameterError",
    "Project",
    "RunOptions",
    "RunRecord",
    "UsageError",
    "load_project",
    "read_history",
    "read_latest_records",
    "read_parameters",
    "run_step",
    "run_steps",
]
