"""Sample inputs shared by the HTTP tests."""

import csv
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import DATA_DIR

# The DJIA bar of 2016-06-24, the day after the UK referendum.
BAR = {
    "date": "2016-06-24",
    "open": 17946.63,
    "high": 17946.63,
    "low": 17356.34,
    "close": 17400.75,
    "volume": 239000000,
}


def cli_env(database_url: str, artifacts: Path) -> dict[str, str]:
    """The environment of a `kdtcn` command run as a user runs it, on this database."""
    from app.settings import PROJECT_ROOT

    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ARTIFACTS_DIR": str(artifacts),
        "PYSTOW_HOME": str(PROJECT_ROOT / "var" / "pystow"),
    }


def run_kdtcn(env: dict[str, str], *args: str) -> str:
    """`kdtcn ARGS` in a fresh process with `env`; asserts it succeeded, returns its output."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def wait_until_processed(http: httpx.Client, timeout: float = 120.0) -> dict:
    """GET /v1/ingest until nothing is pending (the extraction caught up); its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status = http.get("/v1/ingest").json()
        if status["pending"] == 0:
            return status
        assert time.monotonic() < deadline, f"still pending after {timeout} s: {status}"
        time.sleep(0.1)


def dataset_slice(
    out: Path, start: str, *, news_before: str | None = None
) -> tuple[Path, list[list[str]]]:
    """The DJIA + Reddit WorldNews files from `start` on, written to the new folder `out` as
    `import_djia_reddit` reads them. With `news_before`, the news from that date on is left
    out of the files and returned instead (rows of date and text, in the dataset's order)."""
    out.mkdir()
    later: list[list[str]] = []
    for name in ("Combined_News_DJIA.csv", "DJIA_table.csv", "RedditNews.csv"):
        with gzip.open(
            DATA_DIR / "djia_reddit" / f"{name}.gz", "rt", encoding="utf-8", newline=""
        ) as fh:
            header, *rows = list(csv.reader(fh))
        kept = [r for r in rows if r[0] >= start]
        if name == "RedditNews.csv" and news_before is not None:
            later = [r for r in kept if r[0] >= news_before]
            kept = [r for r in kept if r[0] < news_before]
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([header, *kept])
    return out, later
