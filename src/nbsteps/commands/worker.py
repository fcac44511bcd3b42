"""`nbsteps worker --step STEP --scheduler ADDRESS`: serve one step's runs to a Dask cluster."""

from nbsteps.commands.sweep import add_tls_arguments


def add_parser(commands, parents) -> None:
    worker = commands.add_parser(
        "worker", parents=parents, help="a Dask worker that runs one step's runs",
        description="Join the Dask cluster at --scheduler and run the points and steps "
        "sent there for STEP (`sweep --engine dask`, `run --engine dask`). Data, outputs "
        "and logs must be on a filesystem every worker mounts at the same path.")
    worker.add_argument("--step", required=True, help="the step this worker runs")
    worker.add_argument("--scheduler", metavar="ADDRESS",
                        help="e.g. tcp://10.0.0.5:8786 (env NBSTEPS_SCHEDULER)")
    worker.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="runs at once on this worker (default 1; start more workers "
                        "to use more cores)")
    worker.add_argument("--name", help="worker name shown in records (default: Dask's)")
    worker.add_argument("--listen-address", help="where to listen, e.g. tcp://0.0.0.0:9000")
    worker.add_argument("--contact-address",
                        help="the address the scheduler reaches this worker at (behind NAT)")
    add_tls_arguments(worker)


def run(project, args) -> int:
    from nbsteps.engines.dask import make_security, scheduler_address
    from nbsteps.engines.worker import WorkerOptions, serve_worker

    options = WorkerOptions(
        step=args.step, scheduler=scheduler_address(args), jobs=max(args.jobs, 1),
        name=args.name, listen_address=args.listen_address,
        contact_address=args.contact_address, security=make_security(args, "worker"),
    )
    return serve_worker(project, options)
