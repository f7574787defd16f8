"""The ``--import MODULE`` option: which modules define the jobs a command needs.

Every command that resolves job names (``run``, ``jobs``, ``worker``,
``scheduler``, ``cron``...) imports the modules of the ``imports`` setting
(``JOBMILL_IMPORTS``, ``[tool.jobmill] imports``) plus those given with
``--import``, which may be repeated. Use it in a command like this::

    @app.command()
    def worker(modules: ImportOption = None) -> None:
        load_job_modules(modules)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from jobmill import registry
from jobmill.cli.errors import USAGE, CommandError

ImportOption = Annotated[
    list[str] | None,
    typer.Option(
        "--import",
        "-i",
        metavar="MODULE",
        help="Module that defines jobs (repeatable); added to the `imports` setting.",
        show_default=False,
    ),
]


def job_modules(extra: Sequence[str] | None = None) -> list[str]:
    """The modules of the ``imports`` setting followed by ``extra``, without repeats."""
    from jobmill.runtime import get_settings

    return list(dict.fromkeys([*get_settings().imports, *(extra or ())]))


def load_job_modules(extra: Sequence[str] | None = None) -> list[str]:
    """Import the job modules (the setting plus ``extra``); returns their names.

    The lookup is the library's own (``registry.import_job_modules``): the
    working directory is importable, as with ``python -m``, so
    ``jobmill --import myapp.jobs ...`` finds ``./myapp``. A module that
    cannot be imported is a usage error (exit 2) naming the module, in one line.
    """
    from jobmill.runtime import get_settings

    configured = set(get_settings().imports)
    modules = job_modules(extra)
    for module in modules:
        origin = "the `imports` setting" if module in configured else "--import"
        try:
            registry.import_job_modules([module], origin)
        except ImportError as exc:
            raise CommandError(str(exc), USAGE) from None
    return modules
