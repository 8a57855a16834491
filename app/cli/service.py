"""`kdtcn init` and `kdtcn serve`: the first start and the service."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, progress_bar
from app.settings import get_settings

__all__ = ["init", "serve"]


def init(
    complete: Annotated[
        bool,
        typer.Option(
            help="Train every queued version here before exiting (--no-complete: leave them "
            "to `kdtcn worker` processes and services)"
        ),
    ] = True,
) -> None:
    """Migrate and build what is missing from the bundled data (what `kdtcn serve` does on a
    first start), then exit: the one-off step before API replicas (`kdtcn serve
    --no-bootstrap`) and workers start."""
    from app.bootstrap import first_run

    with progress_bar() as bar:
        first_run(get_settings(), bar, console, complete=complete)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    bootstrap: Annotated[
        bool, typer.Option(help="Build what is missing from the bundled data first")
    ] = True,
) -> None:
    """Migrate, build what the first answer needs (import, events, the embedding, the newest
    default-target version), queue the other versions, then serve while they train."""
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    pipeline = None
    if bootstrap and settings.bootstrap:
        from app.bootstrap import first_run

        with progress_bar() as bar:
            pipeline = first_run(settings, bar, console)
    factory = (lambda _s: pipeline) if pipeline is not None else None
    app = create_app(settings, **({"pipeline_factory": factory} if factory else {}))
    # No Server header; the access log is app.middleware.AccessLog (paths without queries).
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, server_header=False)
