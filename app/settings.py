"""Service settings, read from the environment (and a `.env` file) when first asked for."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_COST_BPS", "PROJECT_ROOT", "TRAIN_THREADS", "Settings", "get_settings"]

# Basis points a backtest charges per unit change of position unless asked otherwise: the API
# and the CLI share it, and every backtest answer states the figure it used (`cost_bps`).
DEFAULT_COST_BPS = 5.0

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Torch threads of every served fit (`kdtcn train`, the first start, the service's trainer
# processes, `kdtcn worker`). Torch's sums depend on the thread count, so one count everywhere
# gives the same version wherever and beside however many others it is trained. One: on two
# cores two one-thread processes train the demo's chain 1.35x as fast as one process of two
# threads (benchmarks/bench_training.py), and a thread per core never oversubscribes.
TRAIN_THREADS = 1


def _cores() -> int:
    """The cores this process may run on (at least 1)."""
    return max(1, len(os.sched_getaffinity(0)))


class Settings(BaseSettings):
    """Everything the service can be configured with; each field maps to an env variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'kdtcn.sqlite3'}",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user:pass@host/db",
    )
    api_key: str | None = Field(
        default=None,
        description="When set, write endpoints require the header X-API-Key with this value",
    )
    artifacts_dir: Path = Field(default=PROJECT_ROOT / "var" / "artifacts")
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Bundled demo data (DJIA + Reddit, WD40k, DJIA/GSPC histories)",
    )
    pystow_home: Path = Field(
        default=PROJECT_ROOT / "var" / "pystow",
        description="PyKEEN's cache folder (pystow's PYSTOW_HOME) and the parsed graph's "
        "(kg.graph); nothing is downloaded",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Largest accepted request body; larger ones get 413 before being parsed",
    )
    bootstrap: bool = Field(
        default=True,
        description="On `kdtcn serve`, build what is missing (import, events, embeddings, model)",
    )

    extract_in_process: bool = Field(
        default=True,
        description="Extract pending headlines' events in a background thread of `kdtcn "
        "serve`; turn off on API replicas when `kdtcn worker` processes do it (PostgreSQL)",
    )

    train_in_process: bool = Field(
        default=True,
        description="Train queued model versions (training jobs) in background processes of "
        "`kdtcn serve`; turn off on API replicas when `kdtcn worker` processes train them",
    )
    train_workers: int = Field(
        default_factory=lambda: min(_cores(), 4),
        ge=1,
        description="How many background training processes `kdtcn serve` starts (default: "
        "one per core, at most 4: each holds 1.5-3 GB while it trains the demo's versions)",
    )
    train_threads: int = Field(
        default=TRAIN_THREADS,
        ge=1,
        description="Torch threads of each training process; 1 trains the same versions as "
        "`kdtcn train` (another count gives other floats); workers x threads at most the cores",
    )

    @property
    def company_reference(self) -> Path:
        """The S&P 500 constituents list under `data_dir` (GICS sub-industries, headquarters)
        that universe versions read the companies' facts from."""
        return self.data_dir / "reference" / "sp500_constituents.csv"

    def ensure_dirs(self) -> None:
        """Create the writable folders this configuration points at, and point PyKEEN's cache
        at `pystow_home` by setting PYSTOW_HOME in this process's environment.

        pystow reads PYSTOW_HOME when PyKEEN is first imported (it creates its folder then), so
        every entry point calls this before anything imports PyKEEN: the app's lifespan, the
        CLI commands (through `app.bootstrap.open_database`) and the first-run build. `kg/`
        itself only reads the environment. The last `Settings` to call this wins."""
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        self.pystow_home.mkdir(parents=True, exist_ok=True)
        os.environ["PYSTOW_HOME"] = str(self.pystow_home)
        if self.database_url.startswith("sqlite:///"):
            Path(self.database_url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment and `.env` on the first call and
    cached from then on."""
    return Settings()
