"""Shared fixtures: databases (SQLite file and a private PostgreSQL), the app over real HTTP."""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade
from app.settings import PROJECT_ROOT, Settings
from tests.liveserver import LiveServer, free_port
from tests.pgserver import PostgresServer, started_server

# For tests that train embeddings through kg.embed directly, without Settings.ensure_dirs().
os.environ.setdefault("PYSTOW_HOME", str(PROJECT_ROOT / "var" / "pystow"))

# pytest-xdist runs a worker per core. Each worker, and each process a test starts (servers,
# `kdtcn` commands), computes on one thread unless the code under test sets its own count
# (served training does: app.settings.TRAIN_THREADS). Two workers of two OpenMP threads each
# on two cores spent their time spinning: the suite took 401 s against 329 s so.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)

DATA_DIR = PROJECT_ROOT / "data"
# Seconds each module took in a whole run (`--update-durations`): the order in which the
# workers are handed modules, longest first, so that both finish about together. A module
# not listed counts as one second; a stale figure costs balance, never a result.
DURATIONS = PROJECT_ROOT / "tests" / "durations.json"
_counter = itertools.count()
_seconds: defaultdict[str, float] = defaultdict(float)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-pins",
        action="store_true",
        help="rewrite tests/pins/*.json from this run's answers (then read the diff)",
    )
    parser.addoption(
        "--update-durations",
        action="store_true",
        help=f"rewrite {DURATIONS.name} from this run's seconds per module",
    )


# The modules whose tests read the e2e world (the `e2e_world` fixture): pytest-xdist runs them
# in one worker, so the world is built once (pytest_xdist_make_scheduler below).
WORLD_MODULES = frozenset(
    {
        "tests/test_e2e_answers.py",
        "tests/test_e2e_backtest.py",
        "tests/test_e2e_explanations.py",
        "tests/test_jobs_e2e.py",
        "tests/test_stock_news_e2e.py",
    }
)


def _scope(nodeid: str) -> str:
    """The unit a worker is handed: a module, or the WORLD_MODULES together."""
    module = nodeid.split("::")[0]
    return "e2e world" if module in WORLD_MODULES else module


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist then queues the modules in the order of the collection (below), not by
    # their number of tests.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the e2e world from a module not in WORLD_MODULES would make a
    second worker build the world again: refused, naming the list. Then the longest
    scopes first (DURATIONS), each module's tests in their own order."""
    for item in items:
        module = item.nodeid.split("::")[0]
        if "e2e_world" in getattr(item, "fixturenames", ()) and module not in WORLD_MODULES:
            raise pytest.UsageError(f"{module} reads e2e_world: add it to WORLD_MODULES")
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    cost: defaultdict[str, float] = defaultdict(float)
    for module in {item.nodeid.split("::")[0] for item in items}:
        cost[_scope(module)] += known.get(module, 1.0)
    items.sort(key=lambda item: -cost[_scope(item.nodeid)])  # stable


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With --update-durations, in the controlling process (not a worker): the seconds of
    every module this run ran, its fixtures included, over the figures already there."""
    config = session.config
    if config.getoption("--update-durations") and not hasattr(config, "workerinput"):
        seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
        seconds.update({m: round(s, 1) for m, s in _seconds.items()})
        DURATIONS.write_text(json.dumps(dict(sorted(seconds.items())), indent=1) + "\n")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist (`-n auto` in pyproject.toml; `-n 0` runs in this process) sends whole
    modules to a worker, so each module's fixtures are built once, and the WORLD_MODULES
    together. (`--dist loadgroup` cannot do this here: with pytest 9 its group marks are
    ignored.)"""
    from xdist.scheduler import LoadFileScheduling

    class ByModule(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return ByModule(config, log)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = started_server()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"t{next(_counter)}")
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database of each backend without any schema (a SQLite file not made yet)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'new.sqlite3'}"
    return request.getfixturevalue("pg_server").create_database(f"e{next(_counter)}")


@pytest.fixture
def session_factory(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def pipeline():  # type: ignore[no-untyped-def]
    """The real knowledge pipeline (spaCy parse + WD40k linker), loaded once per session."""
    from kg.pipeline import EventPipeline

    return EventPipeline.load(data_dir=DATA_DIR)


@pytest.fixture
def live(database_url: str, pipeline, tmp_path: Path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The service over real HTTP on a fresh database of each backend."""
    from app.main import create_app

    settings = Settings(
        database_url=database_url,
        artifacts_dir=tmp_path / "artifacts",
        pystow_home=PROJECT_ROOT / "var" / "pystow",
        bootstrap=False,
    )
    app = create_app(settings, pipeline_factory=lambda _s: pipeline)
    with LiveServer(app, free_port()) as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, timeout=120) as client:
        yield client


@pytest.fixture(scope="session")
def e2e_world(pipeline, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The e2e tests' world of real data (tests.worlds.build_e2e_world), built once."""
    from tests.worlds import build_e2e_world

    world = build_e2e_world(tmp_path_factory.mktemp("e2e"), pipeline)
    yield world
    world.engine.dispose()


@pytest.fixture(scope="session")
def built(e2e_world, pipeline):  # type: ignore[no-untyped-def]
    """The e2e world served over real HTTP, and its sessions: read it, never write it."""
    with e2e_world.serve(pipeline) as server:
        yield server, e2e_world.factory


@pytest.fixture
def client(built) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=built[0].base_url, timeout=120) as c:
        yield c


@pytest.fixture
def scratch(e2e_world, pipeline, tmp_path):  # type: ignore[no-untyped-def]
    """A copy of the e2e world, served, for a test that writes: (server, sessions)."""
    world = e2e_world.copy(tmp_path / "world")
    with world.serve(pipeline) as server:
        yield server, world.factory
    world.engine.dispose()


@pytest.fixture
def scratch_client(scratch) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=scratch[0].base_url, timeout=120) as c:
        yield c
