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

__all__ = ["LiveServer", "free_port", "service_process"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def service_process(
    env: dict[str, str] | None = None, *, timeout: float = 300
) -> Iterator[httpx.Client]:
    """`kdtcn serve --no-bootstrap` in its own process on a free 127.0.0.1 port (settings from
    `env`, default this process's environment): a client for it once /healthz answers; the
    process is stopped on exit."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-bootstrap", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the service did not start")
                time.sleep(0.5)
            yield client
    finally:
        server.terminate()
        server.wait(timeout=30)


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
