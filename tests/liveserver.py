"""The app served by uvicorn in a background thread on 127.0.0.1 (tests), or `kdtcn serve
--no-bootstrap` in its own process (the benchmarks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text

__all__ = ["LiveServer", "free_port", "served_env", "service_process", "start_service"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(
    env: dict[str, str] | None = None, *, timeout: float = 300
) -> tuple[subprocess.Popen, str]:
    """`kdtcn serve --no-bootstrap` in its own process on a free 127.0.0.1 port (settings from
    `env`, default this process's environment), and its base URL once /healthz answers
    (liveness: a service without trained models stays unready). The caller stops the
    process; one that does not start is killed here."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-bootstrap", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait(timeout=30)
            raise RuntimeError("the service did not start")
        time.sleep(0.25)


@contextmanager
def service_process(
    env: dict[str, str] | None = None, *, timeout: float = 300
) -> Iterator[httpx.Client]:
    """`start_service`: a client for the service; the process is stopped on exit."""
    server, base = start_service(env, timeout=timeout)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            yield client
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def served_env(env: dict[str, str], pipeline: Any, **settings: Any) -> Iterator[httpx.Client]:
    """The app in this process over real HTTP (LiveServer) on the database and artifacts of
    a `kdtcn` command's environment (tests.samples.cli_env), with `pipeline`, bootstrapping
    nothing; `settings`: other Settings fields. A client for it; stopped on exit."""
    from app.main import create_app
    from app.settings import PROJECT_ROOT, Settings

    config = Settings(
        database_url=env["DATABASE_URL"],
        artifacts_dir=Path(env["ARTIFACTS_DIR"]),
        pystow_home=PROJECT_ROOT / "var" / "pystow",
        bootstrap=False,
        **settings,
    )
    app = create_app(config, pipeline_factory=lambda _s: pipeline)
    with (
        LiveServer(app, free_port()) as server,
        httpx.Client(base_url=server.base_url, timeout=120) as client,
    ):
        yield client


class LiveServer:
    """Context manager: starts the server, waits until it accepts requests, stops it."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                server_header=False,
            )
        )
        self.base_url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def count(self, table: str) -> int:
        with self.app.state.sessionmaker() as session:
            return session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
