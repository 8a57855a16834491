"""`python -m app.cli`: the `kdtcn` command line."""

from app.cli import main

main()
