"""`kdtcn` command line: database, import, knowledge pipeline, training, evaluation, serving.

One module per command group (app/cli/*.py); `app.cli.common` holds what they share (the
console, progress bars, and `opened`, the settings and database a command works on).
"""

from __future__ import annotations

import logging

import typer

from app.cli.data import db_cli, import_cli
from app.cli.evaluation import evaluate
from app.cli.knowledge import kg_cli, worker
from app.cli.protocol import protocol_cli
from app.cli.service import init, serve
from app.cli.training import backtest, train, train_universe

__all__ = ["cli", "main"]

cli = typer.Typer(help="Knowledge-driven stock trend prediction (KDTCN).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(import_cli, name="import")
cli.add_typer(kg_cli, name="kg")
cli.add_typer(protocol_cli, name="protocol")
for name, command in (
    ("worker", worker),
    ("train", train),
    ("train-universe", train_universe),
    ("backtest", backtest),
    ("evaluate", evaluate),
    ("init", init),
    ("serve", serve),
):
    cli.command(name)(command)


def main() -> None:
    """The `kdtcn` console script."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cli()
