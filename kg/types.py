"""Plain value types shared by the knowledge pipeline (no framework imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Phrase", "Event", "EntityLink"]


@dataclass(frozen=True)
class Phrase:
    """A span of a headline.

    ``start``/``end`` are character offsets into the cleaned headline text
    (``text == headline[start:end]``); ``head`` is the lower-cased lemma of the
    syntactic head of the span, which is what tuple matching compares.
    """

    text: str
    start: int
    end: int
    head: str


@dataclass(frozen=True)
class Event:
    """One (subject, predicate, object) tuple extracted from a headline.

    ``predicate.head`` is the normalised predicate (verb lemma, with a particle
    or preposition joined by a space when it changes the meaning, e.g.
    ``"call for"``). ``object`` is ``None`` for intransitive events
    ("Pound drops"). ``negated`` is true for "does not", "never", "no" ...
    """

    subject: Phrase
    predicate: Phrase
    object: Phrase | None
    negated: bool = False


@dataclass(frozen=True)
class EntityLink:
    """A mention linked to a Wikidata entity of the local graph, with its score in [0, 1]."""

    mention: str
    start: int
    end: int
    entity_id: str
    label: str
    score: float
    role: str = field(default="")  # "subject" / "object" / "" when linked outside an event
