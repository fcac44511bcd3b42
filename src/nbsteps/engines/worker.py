"""`nbsteps worker --step STEP`: a Dask worker (under a nanny, which restarts it if it
dies) that takes only the runs of STEP, on kernels it starts ahead with the step's imports.

The worker process learns its project and folders from the environment this command sets
(NBSTEPS_PROJECT, NBSTEPS_*_DIR), and is set up by `dask_setup` below (a Dask preload).
"""

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

from nbsteps.engines.dask import step_resource
from nbsteps.engines.tasks import close_worker_kernels, worker_kernels
from nbsteps.project import FOLDER_VARIABLES, Project, load_project

log = logging.getLogger("nbsteps")
STEP_VARIABLE = "NBSTEPS_WORKER_STEP"


@dataclass(frozen=True)
class WorkerOptions:
    step: str
    scheduler: str
    jobs: int = 1  # runs at once on this worker
    name: str | None = None
    listen_address: str | None = None  # e.g. tcp://0.0.0.0:9000 in a container
    contact_address: str | None = None  # what the scheduler dials, behind NAT
    security: object | None = None


def serve_worker(project: Project, options: WorkerOptions) -> int:
    project.step(options.step)  # an unknown step is refused before anything starts
    os.environ["NBSTEPS_PROJECT"] = str(project.root)
    for name, variable in FOLDER_VARIABLES.items():
        os.environ[variable] = str(getattr(project.folders, name))
    os.environ[STEP_VARIABLE] = options.step
    asyncio.run(run_nanny(options))
    return 0


async def run_nanny(options: WorkerOptions) -> None:
    from distributed import Nanny

    nanny = Nanny(
        options.scheduler, nthreads=options.jobs, name=options.name,
        resources={step_resource(options.step): options.jobs},
        security=options.security, preload=[__name__],
        listen_address=options.listen_address, contact_address=options.contact_address,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # docker stop, Ctrl-C: leave cleanly
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(nanny.close()))
    async with nanny:
        log.info("worker for step %s joined %s", options.step, options.scheduler)
        await nanny.finished()


def dask_setup(worker) -> None:
    """In the worker process: quiet libraries as the CLI does, start a kernel ahead, and
    load papermill and nbconvert now (about two seconds), before the worker takes runs,
    rather than during its first."""
    from nbsteps.execute import import_runner_modules
    from nbsteps.export import warm_up_exporter
    from nbsteps.notebook import block_slow_optional_imports

    block_slow_optional_imports()
    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    import_runner_modules()  # first: the kernels' threads must not import it half-way
    step = os.environ[STEP_VARIABLE]
    worker_kernels(load_project(), step, ahead=worker.state.nthreads).fill()
    warm_up_exporter()  # while the fork server imports the notebook's modules


def dask_teardown(worker) -> None:
    close_worker_kernels()
