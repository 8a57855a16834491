"""A universe chain queued as training jobs (issue 31), as a user runs it: `kdtcn
train-universe --walk-forward --enqueue`, a cross-section asked while its version waits (503
naming the job), `kdtcn worker --drain` training the chain, the answer served, and the
version a job trained equal to the one `kdtcn train-universe` trains inline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.liveserver import served_env
from tests.samples import cli_env, run_kdtcn

pytestmark = pytest.mark.slow

STOCKS = ("AEP", "EXC", "NEE", "PCG")  # utilities: related by sector
D = dt.date(2015, 7, 15)
CHAIN = (
    "train-universe",
    "--universe",
    "stocknet",
    "--walk-forward",
    "--start",
    "2015-07-01",
    "--every",
    "21",
    "--kg-epochs",
    "1",
    "--seeds",
    "1",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A database with the utilities imported (tweets, events), nothing trained."""
    root = tmp_path_factory.mktemp("universe-jobs")
    env = cli_env(f"sqlite:///{root / 'kdtcn.sqlite3'}", root / "artifacts")
    run_kdtcn(env, "db", "upgrade")
    run_kdtcn(
        env,
        "import",
        "stocknet",
        "--symbols",
        ",".join(STOCKS),
        "--start",
        "2015-04-01",
        "--end",
        "2015-07-31",
    )
    return env


@pytest.fixture(scope="module")
def http(world, pipeline) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    """The service on the world's database, training nothing itself (workers do)."""
    with served_env(world, pipeline, train_in_process=False) as client:
        yield client


def test_a_queued_universe_chain_is_trained_by_workers_as_inline(world, http, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    said = run_kdtcn(world, *CHAIN, "--enqueue")
    assert "queued 2 versions of universe stocknet" in said, said  # cuts 06-30, 07-30
    assert "queued 0 versions" in run_kdtcn(world, *CHAIN, "--enqueue")  # no job twice

    # While the version that answers D waits, the cross-section says so and names its job.
    waiting = http.get("/v1/predictions", params={"universe": "stocknet", "date": D.isoformat()})
    assert waiting.status_code == 503, waiting.text
    assert int(waiting.headers["Retry-After"]) >= 5
    job = waiting.json()["job"]
    assert (job["symbol"], job["model"], job["cut"]) == ("stocknet", "kdtcn-universe", "2015-06-30")
    # One of its stocks asked without `universe=` (it has no version of its own, and the
    # universe none yet): the same 503 and job, not a 409 telling the user to train.
    stock = http.get("/v1/predictions/AEP", params={"date": D.isoformat()})
    assert stock.status_code == 503, stock.text
    assert stock.json()["job"]["id"] == job["id"]

    trained = run_kdtcn(world, "worker", "--drain", "--no-extract")
    assert trained.count("trained stocknet next_day up to") == 2, trained
    assert trained.index("2015-07-30") < trained.index("2015-06-30")  # newest cut first
    ranked = http.get("/v1/predictions", params={"universe": "stocknet", "date": D.isoformat()})
    assert ranked.status_code == 200, ranked.text
    assert ranked.json()["cut"] == "2015-06-30"
    assert {a["symbol"] for a in ranked.json()["answers"]} == set(STOCKS)

    # The same cut trained inline, into other artifacts: the same version, the same weights.
    inline_dir = tmp_path / "inline"
    inline = run_kdtcn(
        {**world, "ARTIFACTS_DIR": str(inline_dir)},
        "train-universe",
        "--universe",
        "stocknet",
        "--until",
        "2015-06-30",
        "--kg-epochs",
        "1",
        "--seeds",
        "1",
    )
    version = ranked.json()["version"]
    assert f"recorded {version}" in inline, inline
    by_job = torch.load(Path(world["ARTIFACTS_DIR"]) / "universe" / version / "net-0.pt")
    by_cli = torch.load(inline_dir / "universe" / version / "net-0.pt")
    assert by_job.keys() == by_cli.keys()
    assert all(torch.equal(by_job[k], by_cli[k]) for k in by_job)


def test_enqueue_without_a_chain_is_refused_naming_the_option() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    for command in (["train-universe", "--until", "2015-06-30"], ["train"]):
        done = CliRunner().invoke(cli, [*command, "--enqueue"])
        assert done.exit_code == 2 and "--enqueue" in done.output, done.output
        assert "--walk-forward" in done.output
