"""`nbsteps prune`: remove old runs, keeping every run something still needs."""


from nbsteps.commands.text import format_size, warn_unreadable
from nbsteps.errors import UsageError
from nbsteps.prune import PruneReport, prune_runs
from nbsteps.retention import Retention, check_count, check_days, check_retention


def add_parser(commands, parents) -> None:
    parser = commands.add_parser(
        "prune", parents=parents, help="remove old runs (record, notebook, HTML, log, data)",
        description="Remove old runs. Never removed: each step's newest and latest successful "
        "run, runs in progress, and runs a kept run depends on (upstream or reused). Without "
        "options, the `retention:` section of pipeline.yaml applies.")
    parser.add_argument("--keep", type=int, metavar="N", help="keep the newest N runs of each step")
    parser.add_argument("--older-than", type=float, metavar="DAYS",
                        help="remove only runs older than DAYS days")
    parser.add_argument("--dry-run", action="store_true", help="only say what would be removed")


def run(project, args) -> int:
    report = prune_runs(project, choose_policy(project, args), dry_run=args.dry_run)
    print_report(report)
    return 0


def choose_policy(project, args) -> Retention:
    if args.keep is not None or args.older_than is not None:
        return Retention(keep=check_count("--keep", args.keep),
                         older_than_days=check_days("--older-than", args.older_than))
    policy = check_retention(project.settings.get("retention"))
    if policy is None:
        raise UsageError("say what to keep: --keep N (runs of each step) and/or "
                         "--older-than DAYS, or a `retention:` section in pipeline.yaml")
    return policy


def print_report(report: PruneReport) -> None:
    warn_unreadable(report.problems, "left as it is")
    verb = "would remove" if report.dry_run else "removed"
    for removal in report.removals:
        print(f"{verb} {removal.record.run_id} ({removal.record.status}, "
              f"{format_size(removal.size)})")
        for path in removal.paths:
            print(f"    {path}")
        if removal.missing:
            print(f"    already gone: {', '.join(removal.missing)}")
    freed = "and free" if report.dry_run else "freed"
    print(f"{verb} {len(report.removals)} run(s) {freed} {format_size(report.freed)}; "
          f"{report.kept} kept")
