"""Extraction after the commit: headlines are stored pending, and workers process them.

A headline is pending while its `extracted_version` is NULL or not the running pipeline's
version. A worker claims a chunk of pending headlines, extracts and links their events
(spaCy, the KG) and stores them with the headlines marked processed:

* PostgreSQL: one transaction per chunk, whose `SELECT ... FOR UPDATE SKIP LOCKED` is the
  claim. A second worker skips the locked rows; a worker that dies (even by SIGKILL) loses its
  connection, PostgreSQL aborts its transaction and releases the locks, and the chunk is
  pending again with nothing of it written. Any number of `kdtcn worker` processes on any
  number of machines share the work this way, with no queue of our own.
* SQLite (the embedded default): one extractor thread inside `kdtcn serve`. It reads a chunk,
  extracts outside any transaction (a SQLite writer locks the whole file, and the API must
  keep writing meanwhile) and writes in one short transaction. A headline whose events are
  written twice (say by `kdtcn kg extract` at the same time) still has each event once:
  writing a headline's events replaces them.

`Extractor` is the loop (a thread of the service, or the foreground of `kdtcn worker`).
On PostgreSQL an idle extractor LISTENs on the channel that a write NOTIFYs when it commits
new headlines (app.services.headlines.store_headlines), so every worker wakes at once instead
of at its next poll. `ingest_status` is what GET /v1/ingest reports.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import URL, ColumnElement, Row, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import run_transaction
from app.services.headlines import PENDING_CHANNEL, EventSource, replace_events
from app.tables import Event, Headline, HeadlineSymbol
from kg.pipeline import restore_spans
from kg.text import parser_text

__all__ = ["CHUNK", "Extractor", "extract_chunk", "ingest_status", "pending"]

log = logging.getLogger(__name__)

# Headlines per claim: about half a second of spaCy on one core, so a PostgreSQL claim holds
# its row locks briefly and a killed worker gives back little.
CHUNK = 256
RATE_WINDOW = dt.timedelta(seconds=60)
# On PostgreSQL the idle extractor waits for a NOTIFY in slices this long (seconds): how soon
# it sees stop() or a wake() of this process.
WAKE_SLICE = 0.2


def pending(version: str | None) -> ColumnElement[bool]:
    """Headlines that `version` of the pipeline has not processed (None: that no version
    has)."""
    if version is None:
        return Headline.extracted_version.is_(None)
    return Headline.extracted_version.is_(None) | (Headline.extracted_version != version)


# A headline's id, text, and whether it is about symbols (news about companies: tweets).
_COLUMNS = (
    Headline.id,
    Headline.text,
    exists().where(HeadlineSymbol.headline_id == Headline.id).label("about_symbols"),
)


def _extract(pipeline: EventSource, rows: Sequence[Row[int, str, bool]]) -> list[Any]:
    """The events of each row. The parser reads news about symbols without its social-media
    syntax (kg.text.parser_text: `RT @user:`, URLs, a closing run of tags and the other tags'
    sigils blanked, offsets unchanged), and the events' phrases are then the stored text's
    spans again; world headlines are read as stored, so the demo's events stay what they
    were."""
    texts = [parser_text(row.text) if row.about_symbols else row.text for row in rows]
    extracted = pipeline.process(texts)
    return [
        restore_spans(row.text, parsed, found) if row.about_symbols else found
        for row, parsed, found in zip(rows, texts, extracted, strict=True)
    ]


def extract_chunk(
    factory: sessionmaker[Session],
    pipeline: EventSource,
    *,
    limit: int = CHUNK,
    shard: tuple[int, int] | None = None,
) -> int:
    """Claim up to `limit` pending headlines (oldest first), store their events; returns how
    many were processed (0: nothing pending, or every pending one claimed by others).
    `shard` (k, n): only headlines whose id is k modulo n (the bulk extraction's processes
    take disjoint shares, on SQLite too)."""
    where = [pending(pipeline.version)]
    if shard is not None:
        where.append(Headline.id % shard[1] == shard[0])
    if factory.kw["bind"].dialect.name == "postgresql":
        return run_transaction(factory, lambda s: _claim_and_extract(s, pipeline, where, limit))
    with factory() as session:
        rows = session.execute(
            select(*_COLUMNS).where(*where).order_by(Headline.id).limit(limit)
        ).all()
    if not rows:
        return 0
    extracted = _extract(pipeline, rows)
    ids = [row.id for row in rows]
    run_transaction(
        factory, lambda session: replace_events(session, pipeline.version, ids, extracted)
    )
    return len(rows)


def _claim_and_extract(
    session: Session, pipeline: EventSource, where: list[ColumnElement[bool]], limit: int
) -> int:
    rows = session.execute(
        select(*_COLUMNS)
        .where(*where)
        .order_by(Headline.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Headline)
    ).all()
    if not rows:
        return 0
    extracted = _extract(pipeline, rows)
    replace_events(session, pipeline.version, [row.id for row in rows], extracted)
    return len(rows)


class _Listener:
    """LISTEN on PENDING_CHANNEL on a PostgreSQL connection of its own (autocommit, as
    LISTEN needs). A lost connection is opened again at the next wait; until then the
    extractor falls back to its poll."""

    def __init__(self, url: URL) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn: Any = None

    def listen(self) -> bool:
        """Connect and LISTEN, if not yet; whether it listens (before the first look at the
        pending headlines, so that no write is missed between the two)."""
        import psycopg

        if self.conn is not None and not self.conn.closed:
            return True
        try:
            self.conn = psycopg.connect(self.conninfo, autocommit=True)
            self.conn.execute(f"LISTEN {PENDING_CHANNEL}")
            return True
        except psycopg.Error as exc:
            log.warning("LISTEN %s failed (%s); polling", PENDING_CHANNEL, exc)
            self.close()
            return False

    def wait(self, timeout: float) -> bool:
        """Whether a write committed new headlines within `timeout` seconds (or before,
        since the last wait: notifications queue on the connection)."""
        import psycopg

        if not self.listen():
            return False
        try:
            return any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error as exc:
            log.warning("LISTEN %s lost (%s); polling", PENDING_CHANNEL, exc)
            self.close()
            return False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


class Extractor:
    """Process pending headlines chunk by chunk until stopped; sleep when none is pending
    until `wake()` (a write of this process), a NOTIFY of a write of any process (on
    PostgreSQL) or the idle interval passes: `poll` seconds, doubling while nothing comes up to
    `max_poll` (a look at the pending headlines reads the table, ~20 ms for the demo's 73k on
    SQLite)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        pipeline: EventSource,
        *,
        chunk: int = CHUNK,
        poll: float = 2.0,
        max_poll: float = 30.0,
        on_chunk: Callable[[int, float], None] | None = None,
    ) -> None:
        """Extract with `pipeline` into the database of `factory`, `chunk` headlines per
        claim; `poll`, `max_poll`: the idle intervals in seconds (see the class docstring);
        `on_chunk(n, seconds)` is called after each chunk processed. Nothing runs until
        `run()` or `start()`."""
        self.factory = factory
        self.pipeline = pipeline
        self.chunk = chunk
        self.poll = poll
        self.max_poll = max_poll
        self.on_chunk = on_chunk
        self.processed = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        bind = factory.kw["bind"]
        self._listener = _Listener(bind.url) if bind.dialect.name == "postgresql" else None

    def wake(self) -> None:
        """Look at the pending headlines now instead of sleeping on (a write of this
        process stored some)."""
        self._wake.set()

    def _idle(self, seconds: float) -> bool:
        """Wait up to `seconds` for a reason to look again; whether one came."""
        if self._listener is None:
            return self._wake.wait(seconds)
        deadline = time.monotonic() + seconds
        # In slices of WAKE_SLICE, so that stop() and wake() are seen meanwhile (a NOTIFY
        # ends a slice at once; a slice of a second kept each stop waiting ~0.8 s).
        while not (self._stop.is_set() or self._wake.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._listener.wait(min(left, WAKE_SLICE)):
                return True
            if self._listener.conn is None:  # LISTEN failed: a plain wait this time
                return self._wake.wait(max(0.0, deadline - time.monotonic()))
        return True

    def run(self) -> None:
        """The loop, in the calling thread, until `stop()`."""
        if self._listener is not None:
            self._listener.listen()
        try:
            self._loop()
        finally:
            if self._listener is not None:
                self._listener.close()

    def _loop(self) -> None:
        failures = 0
        idle = self.poll
        while not self._stop.is_set():
            self._wake.clear()
            started = time.perf_counter()
            try:
                n = extract_chunk(self.factory, self.pipeline, limit=self.chunk)
                failures = 0
            except Exception:  # the database away, a bad row: log, back off, go on
                failures += 1
                log.exception("extraction failed (%d in a row)", failures)
                self._stop.wait(min(30.0, 0.5 * 2**failures))
                continue
            if n:
                self.processed += n
                idle = self.poll
                if self.on_chunk:
                    self.on_chunk(n, time.perf_counter() - started)
                continue
            woken = self._idle(idle)
            idle = self.poll if woken else min(2 * idle, self.max_poll)

    def start(self) -> None:
        """Run the loop in a daemon thread (the service's background extraction)."""
        self._thread = threading.Thread(target=self.run, name="extractor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the chunk in hand (its events are stored or its claim released)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


def ingest_status(session: Session, version: str | None) -> dict[str, Any]:
    """Pending and processed headlines, events stored, and the processing rate over the last
    minute (from the stored processing times, so every worker's share counts)."""
    now = dt.datetime.now(dt.UTC)
    waiting = session.execute(
        select(func.count(), func.min(Headline.created_at)).where(pending(version))
    ).one()
    processed = session.scalar(select(func.count()).where(Headline.extracted_version == version))
    recent = session.scalar(select(func.count()).where(Headline.extracted_at >= now - RATE_WINDOW))
    return {
        "extractor_version": version,
        "pending": int(waiting[0]),
        "oldest_pending_since": waiting[1],
        "processed": int(processed or 0),
        "events": int(session.scalar(select(func.count()).select_from(Event)) or 0),
        "processed_last_minute": int(recent or 0),
        "rate_per_second": round((recent or 0) / RATE_WINDOW.total_seconds(), 2),
    }
