"""The exceptions nbsteps raises, each with the exit code the command line returns for it."""


class NbstepsError(Exception):
    """Base class; `exit_code` is what `nbsteps` exits with when this ends a command."""

    exit_code = 1


class UsageError(NbstepsError):
    """The command, a step name or the project layout is wrong: nothing ran."""

    exit_code = 2


class ParameterError(UsageError):
    """A parameter name or value does not fit the notebook's `parameters` cell: nothing ran."""


class RecordWriteError(NbstepsError):
    """A run record or run log cannot be written (a full disk, a read-only folder)."""


class MissingInputError(NbstepsError):
    """A file a step reads is not there: nothing ran."""

    exit_code = 3


# Exit codes of a step that started; see RunStatus in records.py.
EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_KERNEL_DIED = 4
EXIT_CANCELLED = 130
