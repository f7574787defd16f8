"""``jobmill dashboard``: serve the web dashboard with uvicorn."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from jobmill.cli.app import app
from jobmill.cli.errors import FAILURE, CommandError
from jobmill.cli.imports import ImportOption, load_job_modules
from jobmill.cli.output import make_console


@app.command("dashboard")
def dashboard(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Anything but loopback needs JOBMILL_DASHBOARD_AUTH.",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    modules: ImportOption = None,
) -> None:
    """Serve the web dashboard (loopback only unless dashboard_auth is set).

    Example: JOBMILL_DASHBOARD_AUTH=admin:s3cret jobmill dashboard --host 0.0.0.0
    """
    import uvicorn

    from jobmill.dashboard import create_app
    from jobmill.dashboard.auth import check_bind
    from jobmill.runtime import get_settings

    settings = get_settings()
    check_bind(host, settings.dashboard_auth)
    load_job_modules(modules)  # retries and "run now" need the job classes
    application = create_app()  # checks the auth setting before anything is announced
    check_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    make_console(stderr=True).print(
        f"jobmill dashboard on http://{shown}:{port}/ "
        f"({'HTTP Basic auth' if settings.dashboard_auth else 'no auth, loopback only'}); "
        "Ctrl+C stops it"
    )
    uvicorn.run(application, host=host, port=port, log_level="info")


def check_port(host: str, port: int) -> None:
    """Fail with exit 1 and the reason when ``host:port`` cannot be listened on.

    uvicorn would log the error and exit 3, outside the CLI's exit codes.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CommandError(f"cannot listen on {host}:{port}: {reason}", FAILURE) from None
