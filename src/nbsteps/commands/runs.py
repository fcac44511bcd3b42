"""The subcommands that read runs back: history, show, diff, which and prune, a module each
with `add_parser(subparsers, parents)` and `run(project, args) -> exit code`."""

from nbsteps.commands import diff, history, prune, show, which

MODULES = {"history": history, "show": show, "diff": diff, "which": which, "prune": prune}
COMMANDS = {name: module.run for name, module in MODULES.items()}


def add_parsers(commands, parents) -> None:
    for module in MODULES.values():
        module.add_parser(commands, parents)
