"""The `nbsteps` subcommands that read runs back: one small module each, with
`add_parser(subparsers, parents)` and `run(project, args) -> exit code`."""

from nbsteps.commands import diff, history, prune, show, which

COMMANDS = {"history": history, "show": show, "diff": diff, "which": which, "prune": prune}
