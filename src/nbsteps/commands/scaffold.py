"""`nbsteps init DIR` and `nbsteps add-step NAME [--after STEP]`: parse, make one call, report."""

import argparse
import os
from pathlib import Path

from nbsteps.project import find_project_root
from nbsteps.scaffold import FIRST_STEP, Plan, add_step, init_project

COMMANDS = ("init", "add-step")


def add_parsers(commands) -> None:
    init = commands.add_parser("init", help="create a new project in DIR")
    init.add_argument("directory", metavar="DIR", help="the project folder (made if needed)")
    init.add_argument("--step", default=FIRST_STEP,
                      help=f"name of the first step (default: {FIRST_STEP})")

    add = commands.add_parser("add-step", help="add a step: notebook, pipeline entry, params "
                              "file, requirements file and compose service")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--after", metavar="STEP",
                     help="the step whose outputs the new step reads (and waits for)")
    add.add_argument("--project", help="project root (default: the folder with pipeline.yaml"
                     " at or above the current one; env NBSTEPS_PROJECT)")


def run_command(args: argparse.Namespace) -> int:
    if args.command == "init":
        plan = init_project(Path(args.directory), args.step)
        report(plan, "created")
        print(f"\nnext: cd {args.directory} && nbsteps run all && nbsteps dashboard")
        return 0
    root = args.project or os.environ.get("NBSTEPS_PROJECT")
    root = Path(root).resolve() if root else find_project_root(Path.cwd().resolve())
    plan = add_step(root, args.name, args.after)
    report(plan, "added")
    print(f"\nnext: edit notebooks/{args.name}.ipynb, then nbsteps run {args.name}")
    return 0


def report(plan: Plan, verb: str) -> None:
    for path in plan.create:
        print(f"{verb} {path.relative_to(plan.root)}")
    for path in plan.edit:
        print(f"updated {path.relative_to(plan.root)}")
