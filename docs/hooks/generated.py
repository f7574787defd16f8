"""MkDocs hooks: pages and figures generated from jobmill itself, so they cannot drift.

- ``reference/cli.md``: every command of the ``jobmill`` command line, read from
  its Typer application (usage, arguments, options, examples).
- ``<!-- jobmill:lifecycle -->`` in a page: the job state diagram and the table
  of transitions, read from ``jobmill.states.TRANSITIONS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import typer
from markupsafe import escape
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

import jobmill
from jobmill.cli import load_commands
from jobmill.cli.help import EXAMPLES
from jobmill.states import INSERTS, TRANSITIONS

CLI_PAGE = "reference/cli.md"
LIFECYCLE_MARKER = "<!-- jobmill:lifecycle -->"
CLI_INTRO = """# Command line reference

Every command of `jobmill` (also `python -m jobmill`), generated from the
program itself. `jobmill help` prints the same with examples, and
`jobmill COMMAND -h` one command's options. The [command line guide](../cli.md)
explains them in prose. Exit codes: 0 ok, 1 failure or not found, 2 usage.
"""


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return markdown.replace(LIFECYCLE_MARKER, lifecycle())


def cli_reference() -> str:
    # The reference shows jobmill's own commands, not those of this repository's
    # example jobs (the `imports` of its pyproject.toml).
    jobmill.configure(imports=[])
    root = typer.main.get_command(load_commands())
    context = root.context_class(root, info_name="jobmill")
    return "\n".join([CLI_INTRO, *command_sections(root, context, "jobmill")])


# Click's classes are typed loosely here: Typer may bring its own copy of Click.
def command_sections(command: Any, context: Any, path: str) -> list[str]:
    sections = [command_section(command, context, path)]
    for name in getattr(command, "list_commands", lambda _: [])(context):
        sub = command.get_command(context, name)
        if sub is None or sub.hidden:
            continue
        sub_context = sub.context_class(sub, info_name=name, parent=context)
        sections.extend(command_sections(sub, sub_context, f"{path} {name}"))
    return sections


def command_section(command: Any, context: Any, path: str) -> str:
    lines = [f"## `{path}`", "", *help_lines(command.help or "", path)]
    lines += ["```text", command.get_usage(context), "```", ""]
    rows = [param_row(p, context) for p in command.get_params(context) if p.name != "help"]
    rows = [row for row in rows if row]
    if rows:
        lines += ["| Argument or option | Meaning |", "|---|---|", *rows, ""]
    return "\n".join(lines)


def help_lines(text: str, path: str) -> list[str]:
    """The docstring's paragraphs as prose; its example paragraphs, and ``EXAMPLES``, as code."""
    prose, examples = [], []
    for paragraph in inspect.cleandoc(text).replace("\b\n", "").split("\n\n"):
        label, _, rest = paragraph.partition(":")
        if label in ("Example", "Examples"):
            examples += [line.strip() for line in rest.strip().splitlines()]
        else:
            prose += [" ".join(paragraph.split()), ""]
    examples += [e for e in EXAMPLES.get(path.removeprefix("jobmill "), ()) if e not in examples]
    if examples:
        prose += ["```bash", *examples, "```", ""]
    return prose


def param_row(param: Any, context: Any) -> str | None:
    record = param.get_help_record(context)
    if record is None:
        return None
    names, description = record
    # A pipe would end the table cell, even inside backticks.
    names = str(escape(names)).replace("|", "&#124;")
    description = " ".join(description.split()).replace("|", "\\|")
    return f"| <code>{names}</code> | {description} |"


def lifecycle() -> str:
    """A Mermaid state diagram and a table of every way a job enters or changes state."""
    moves = [("[*]", state.value, ops) for state, ops in INSERTS.items()]
    moves += [(source.value, target.value, ops) for (source, target), ops in TRANSITIONS.items()]
    diagram = ["```mermaid", "stateDiagram-v2"]
    diagram += [f"    {source} --> {target}: {names(ops)}" for source, target, ops in moves]
    table = ["| from | to | store operations |", "|---|---|---|"]
    for source, target, ops in moves:
        start = "(new row)" if source == "[*]" else f"`{source}`"
        table.append(f"| {start} | `{target}` | {names(ops, code=True)} |")
    return "\n".join([*diagram, "```", "", *table])


def names(operations: Iterable[str], *, code: bool = False) -> str:
    return ", ".join(f"`{op}`" if code else op for op in sorted(operations))
