"""One module per `nbsteps` subcommand that is more than a line: its arguments and its call."""
