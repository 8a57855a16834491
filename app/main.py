"""The FastAPI application: `create_app()` wires settings, database and loaded models."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api import backtest, events, health, ingest, models, predictions, universes
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.metrics import install_metrics
from app.middleware import install_middleware
from app.services.answers import AnswerCache, Answers
from app.services.extraction import Extractor
from app.services.registry import ModelRegistry
from app.services.trainers import TrainerProcesses
from app.settings import Settings, get_settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _default_pipeline(settings: Settings) -> Any:
    from kg.pipeline import EventPipeline

    return EventPipeline.load(data_dir=settings.data_dir)


def _open_state(
    app: FastAPI, settings: Settings, pipeline_factory: Callable[[Settings], Any] | None
) -> Any:
    """The service's state on `app.state`: settings, database, the event pipeline and its
    extractor thread, the model registry, the trainer processes and the answers; the engine."""
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.pipeline = pipeline_factory(settings) if pipeline_factory else None
    # Headlines are stored pending; this thread extracts their events after the commit
    # (app.services.extraction). On PostgreSQL, `kdtcn worker` processes may share it.
    app.state.extractor = None
    if app.state.pipeline is not None and settings.extract_in_process:
        app.state.extractor = Extractor(
            app.state.sessionmaker, app.state.pipeline, on_chunk=app.state.metrics.extracted
        )
    graph = app.state.pipeline.graph if app.state.pipeline is not None else None
    app.state.registry = ModelRegistry(
        settings.artifacts_dir, graph, on_load=app.state.metrics.model_load_seconds.observe
    )
    # Training jobs (versions queued by the first start or `kdtcn train --enqueue`) are
    # trained by processes of this service, newest cut first, while it answers.
    app.state.trainer = None
    if app.state.pipeline is not None and settings.train_in_process:
        app.state.trainer = TrainerProcesses(
            settings,
            app.state.sessionmaker,
            settings.train_workers,
            threads=settings.train_threads,
        )
    app.state.answers = Answers(
        registry=app.state.registry, graph=graph, cache=AnswerCache(), metrics=app.state.metrics
    )
    return engine


def create_app(
    settings: Settings | None = None,
    *,
    pipeline_factory: Callable[[Settings], Any] | None = _default_pipeline,
) -> FastAPI:
    """Build the app. Heavy objects (spaCy, the KG) are loaded in the lifespan, not here."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = _open_state(app, settings, pipeline_factory)
        # The KG and spaCy are ~800k long-lived objects: a full collection walked them all,
        # and the collections that allocating a request's ORM rows triggered added 0.6 s to
        # one answer in ten. Frozen objects are left out of collections for the rest of the
        # process: they are not thawed at shutdown, so a process that starts the app again
        # (the tests start it over 100 times over one loaded pipeline) collects only what is new
        # since, not the 800k objects again (0.44 s a start). What was frozen and dies in a
        # reference cycle later is not reclaimed; a served process ends with its app.
        gc.collect()
        gc.freeze()
        if app.state.extractor is not None:
            app.state.extractor.start()
        if app.state.trainer is not None:
            app.state.trainer.start()
        log.info("service ready on %s", engine.url.render_as_string(hide_password=True))
        try:
            yield
        finally:
            if app.state.extractor is not None:
                app.state.extractor.stop()
            if app.state.trainer is not None:
                app.state.trainer.stop()
            engine.dispose()

    app = FastAPI(
        title="KDTCN",
        version="0.1.0",
        summary="Knowledge-driven stock trend prediction and explanation",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.state.metrics = install_metrics(app)
    install_middleware(app, max_body_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(ingest.router)
    app.include_router(events.router)
    app.include_router(models.router)
    app.include_router(predictions.router)
    app.include_router(backtest.router)
    app.include_router(universes.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), "static")
    return app
