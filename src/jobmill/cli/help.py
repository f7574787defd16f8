"""``jobmill`` and ``jobmill help``: every command with an example.

Commands are listed from the application itself, so commands added by other
modules appear here with their one-line help; ``EXAMPLES`` adds examples.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jobmill.cli.app import app
from jobmill.cli.errors import USAGE, CommandError
from jobmill.cli.output import make_console

SECTIONS = {
    "Jobs": ("list", "status", "run", "retry", "cancel", "discard", "prune"),
    "Inspect": ("stats", "workers", "jobs"),
    "Operate": ("worker", "selftest", "scheduler", "cron", "dashboard"),
    "Database": ("db",),
}
EXAMPLES: dict[str, tuple[str, ...]] = {
    "list": ("jobmill list", "jobmill list --status failed --name SendEmailJob --limit 20"),
    "status": ("jobmill status 019a885b",),
    "run": (
        "jobmill run SendEmailJob --param to=ada@example.com --param subject=Hello",
        'jobmill run SendEmailJob --later --param to=ada@example.com --param subject="Hi there"',
    ),
    "retry": ("jobmill retry 019a885b", "jobmill retry --all-failed --name SendEmailJob"),
    "cancel": ("jobmill cancel 019a885b",),
    "discard": ("jobmill discard 019a885b",),
    "prune": (
        "jobmill prune --older-than 30d --dry-run",
        "jobmill prune --older-than 7d --status failed",
    ),
    "stats": ("jobmill stats", "jobmill stats --json"),
    "workers": ("jobmill workers",),
    "jobs": ("jobmill jobs", "jobmill jobs SendEmailJob --json"),
    "worker": ("jobmill worker --queues default,mail --concurrency 4", "jobmill worker --burst"),
    "selftest": ("jobmill selftest --jobs 10000 --processes 3 --kill-workers",),
    "scheduler": ("jobmill scheduler",),
    "cron": (
        "jobmill cron add --name nightly --job SendEmailJob --cron '0 0 * * *' --param to=ops@x.io",
        "jobmill cron list",
    ),
    "dashboard": ("jobmill dashboard --port 8000",),
    "db": ("jobmill db upgrade",),
}


@app.command("help")
def help_command(
    ctx: typer.Context,
    command: Annotated[
        str | None, typer.Argument(metavar="COMMAND", help="Show this command's options.")
    ] = None,
) -> None:
    """Show the commands with examples (or one command's options)."""
    root = ctx.find_root()
    if command is None:
        print_overview(root)
        return
    group: Any = root.command
    found = group.get_command(root, command)
    if found is None:
        raise CommandError(f"no command {command!r}; `jobmill help` lists them", USAGE)
    with found.make_context(command, ["--help"], parent=root, resilient_parsing=True) as sub:
        text = found.get_help(sub)  # Rich help prints itself and returns ""
        if text:
            typer.echo(text)


def print_overview(ctx: Any) -> None:
    """Every command, grouped, with its one-line help and examples."""
    from jobmill.cli.aliases import alias_names

    console = make_console()
    group: Any = ctx.command
    builtin = {
        name: cmd for name, cmd in group.commands.items() if not cmd.hidden and name != "help"
    }
    console.print("[bold]jobmill[/bold]: run, queue, schedule and inspect jobs\n")
    console.print("Usage: jobmill [--import MODULE] COMMAND [OPTIONS]")
    console.print("       jobmill help COMMAND   (every option of a command)\n")
    listed: set[str] = set()
    for title, names in SECTIONS.items():
        present = [name for name in names if name in builtin]
        listed.update(present)
        _print_section(console, title, [(name, builtin[name]) for name in present])
    rest = [(name, cmd) for name, cmd in builtin.items() if name not in listed]
    _print_section(console, "Other", rest)
    try:
        aliases = alias_names(ctx.params.get("modules"))
    except CommandError as exc:
        console.print(f"[red]Job commands unavailable:[/red] {escape(exc.message)}")
        aliases = []
    if aliases:
        _print_section(
            console, "Job commands", [(name, group.get_command(ctx, name)) for name in aliases]
        )
    _print_footer(console)


def _print_section(console: Console, title: str, commands: list[tuple[str, Any]]) -> None:
    if not commands:
        return
    console.print(f"[bold]{title}[/bold]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for name, command in commands:
        grid.add_row(f"  [cyan]{name}[/cyan]", escape(command.get_short_help_str(limit=100)))
        for example in _examples(name, command):
            grid.add_row("", f"[dim]$ {escape(example)}[/dim]")
    console.print(grid)
    console.print()


def _examples(name: str, command: Any) -> tuple[str, ...]:
    if name in EXAMPLES:
        return EXAMPLES[name]
    job_class = getattr(command, "job_class", None)
    if job_class is None:
        return ()
    from jobmill.cli.aliases import example_for

    return (example_for(name, job_class),)


def _print_footer(console: Console) -> None:
    from jobmill.runtime import get_settings

    settings = get_settings()
    url = without_password(settings.database_url)
    console.print("[bold]Settings[/bold]")
    console.print(f"  database_url  {escape(url)}")
    console.print(f"  imports       {escape(', '.join(settings.imports) or '-')}")
    console.print(
        "\n--param key=value: a.b=value nests; numbers, true/false, null and JSON are parsed."
    )


def without_password(url: str) -> str:
    """``url`` with its password shown as ``***`` (help loads no SQLAlchemy for this)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
