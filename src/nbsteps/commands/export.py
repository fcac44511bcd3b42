"""`nbsteps export argo`: write the pipeline as an Argo Workflows manifest."""

import sys
from pathlib import Path

from nbsteps.records import write_text_atomic


def add_parser(commands, parents) -> None:
    export = commands.add_parser(
        "export", parents=parents, help="write the pipeline for another engine (argo)",
        description="Write an Argo Workflows manifest: one template per step on its image, "
        "the DAG from inputs and outputs, sweeps as parallel tasks, one ReadWriteMany "
        "volume for data, outputs and logs.")
    export.add_argument("target", choices=("argo",))
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--template", action="store_true",
                        help="a WorkflowTemplate (submit with `argo submit --from`) "
                        "instead of a Workflow")
    export.add_argument("--name", default="nbsteps", help="workflow name (prefix)")
    export.add_argument("--registry", default="", help="image registry, e.g. ghcr.io/team")
    export.add_argument("--tag", default="latest", help="image tag (default latest)")
    export.add_argument("--claim", default="nbsteps-work",
                        help="ReadWriteMany PersistentVolumeClaim holding data/, outputs/ "
                        "and logs/ (default nbsteps-work)")
    export.add_argument("--sweep", action="append", default=[], metavar="STEP",
                        help="fan STEP out over the points of params/STEP.sweep.yaml")
    export.add_argument("-p", "--param", action="append", default=[], metavar="STEP.NAME=VALUE",
                        help="a parameter value written into a step's command")
    export.add_argument("--parallelism", type=int, default=4,
                        help="tasks running at once (default 4)")
    export.add_argument("--uid", type=int, default=1000, help="user the pods run as")
    export.add_argument("--gid", type=int, default=1000, help="group the pods run as")


def run(project, args) -> int:
    from nbsteps.argo import ArgoOptions, build_manifest, render_yaml
    from nbsteps.errors import UsageError
    from nbsteps.execute import resolve_parameters
    from nbsteps.parameters import parse_assignment
    from nbsteps.pipeline import split_overrides
    from nbsteps.sweep.points import check_points, gather_points

    if args.parallelism < 1:
        raise UsageError("--parallelism must be at least 1")
    steps = list(project.steps)
    fixed = split_overrides(project, steps, dict(parse_assignment(t) for t in args.param))
    for name, values in fixed.items():  # checked as `nbsteps run -p` would
        typed = resolve_parameters(project.step(name), values)
        fixed[name] = {key: typed[key] for key in values}
    sweeps = {}
    for name in args.sweep:
        step = project.step(name)
        given, where = gather_points(step, [], None)
        sweeps[name] = check_points(step, given, fixed.get(name, {}), where)
    options = ArgoOptions(
        name=args.name, kind="WorkflowTemplate" if args.template else "Workflow",
        registry=args.registry, tag=args.tag, claim=args.claim,
        parallelism=args.parallelism, uid=args.uid, gid=args.gid, sweeps=sweeps, fixed=fixed)
    text = render_yaml(build_manifest(project, options))
    if args.output:
        write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
