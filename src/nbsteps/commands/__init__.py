"""One module per group of subcommands: its parser and its commands."""
