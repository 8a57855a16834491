"""Entity linking of headline phrases to the local Wikidata graph.

Index: every entity label, plus the curated aliases of `kg/aliases.tsv` (demonyms such as
"British" -> United Kingdom, short forms such as "UK", "EU", "UN"). Short aliases need a
capital ("Fed", "Xi"); those that are also English words ("US", "WHO") need capitals
throughout. English stop words and surfaces under 3 characters never link otherwise
(the pronoun "I" is not the letter I), and a single capitalised word links to a label only
when that entity has at least `min_degree` facts (Title Case headlines are full of words
that are also the names of obscure films and songs). For a phrase:

1. exact match of the whole phrase (label 1.0, alias 0.95);
2. normalised match: case-folded, leading "the" and possessive "'s" dropped, a plural "s"
   stripped (0.9);
3. else the longest sub-spans of the phrase that match, left to right without overlaps, so
   "Prime Minister David Cameron" or "UK pound" still link (0.9 x the sub-span's score);
   spans that start or end with a stop word are not tried;
4. for a whole event phrase only (not sub-spans, not the n-grams of `link_text`, which keeps
   linking cheap next to parsing), fuzzy matching with rapidfuzz against labels sharing the
   first three letters, for capitalised mentions of 5+ characters (ratio / 100 * 0.85).

Only named entities are indexed by label: concepts (labels Wikidata writes in lower case,
"journalist", "war", "square"), given or family names ("Hans", "Edward") and Wikimedia
pages (by their "instance of" facts or description) are left out,
since a headline's "Journalist Assaulted" or "Hans Rosling" never means them; they still
link through the alias table. Tokens split at hyphens ("China-India"), and a capitalised
plural of an alias links like the alias ("Canadians", "Palestinians").

A candidate below `threshold` is not linked. Lower-case single words link only through the
alias table, so common nouns ("police", "war") never link to a same-named entity. When a
surface form names several entities, the one adjacent in the graph to the headline's other
entities wins, then the one of highest degree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rapidfuzz import fuzz, process
from spacy.lang.en.stop_words import STOP_WORDS

from kg.graph import KnowledgeGraph
from kg.types import EntityLink, Event, Phrase

__all__ = ["EntityLinker", "load_aliases", "normalise"]

_TOKEN = re.compile(r"\w[\w.'’]*[\w.]|\w")
# instance of (P31): Wikimedia category, list article, template, disambiguation page; given
# name, male and female given name, family name.
_NOT_ENTITY_CLASSES = {
    "Q4167836",
    "Q13406463",
    "Q11266439",
    "Q4167410",
    "Q202444",
    "Q12308941",
    "Q11879590",
    "Q101352",
}
_NAME_ONLY = re.compile(r"\b(given name|family name|surname)\b")
_STOP = set(STOP_WORDS) | {"new", "says", "say"}
# Aliases that are also common words: linked only when written in capitals ("US", "WHO").
_UPPER_ONLY = {"us", "who", "un", "it", "eu", "uk"}


def normalise(text: str) -> str:
    """The match key of a surface form: case-folded, surrounding quotes and punctuation
    stripped, a leading article ("the", "a", "an") and a possessive "'s" dropped, runs of
    whitespace collapsed to one space."""
    text = text.casefold().strip(" \"'`.,:;!?()[]")
    text = re.sub(r"^(the|a|an)\s+", "", text)
    text = re.sub(r"(’s|'s|s')$", "", text)
    return re.sub(r"\s+", " ", text)


def load_aliases(path: Path | None = None) -> dict[str, str]:
    """Case-folded alias -> Q-id from a file of `alias<TAB>Q-id` lines (blank lines and
    lines starting with "#" skipped): `path`, else the bundled kg/aliases.tsv."""
    source = (
        path.read_text("utf-8")
        if path
        else (resources.files("kg").joinpath("aliases.tsv").read_text("utf-8"))
    )
    out = {}
    for line in source.splitlines():
        if line.strip() and not line.startswith("#"):
            alias, qid = line.split("\t")
            out[alias.strip().casefold()] = qid.strip()
    return out


class EntityLinker:
    """Links phrases of a headline to WD40k entities, keeping a score in [0, 1].

    `threshold`: the lowest score that links; `min_degree`: the facts an entity needs for a
    single capitalised word to link to it by label; `aliases`: alias -> Q-id (default
    `load_aliases()`; aliases of entities not in the graph are dropped).
    """

    def __init__(
        self,
        kg: KnowledgeGraph,
        *,
        threshold: float = 0.75,
        min_degree: int = 10,
        aliases: dict[str, str] | None = None,
    ) -> None:
        """Index the labels of `kg`'s named entities and the aliases (see the class docstring)."""
        self.kg = kg
        self.threshold = threshold
        self.min_degree = min_degree
        # Facts per entity, counted once: a MultiDiGraph's degree walks every edge.
        self.degree: dict[str, int] = dict(kg.graph.degree())
        # Type constraint from the graph: pages and names are not what a headline names.
        self.not_entities = {
            h for h, t, r in kg.graph.edges(keys=True) if r == "P31" and t in _NOT_ENTITY_CLASSES
        }
        self.exact: dict[str, list[str]] = defaultdict(list)
        self.normal: dict[str, list[str]] = defaultdict(list)
        self.alias = {a: q for a, q in (aliases or load_aliases()).items() if q in kg}
        by_prefix: dict[str, list[str]] = defaultdict(list)
        for qid, label in kg.labels.items():
            if qid not in kg or not label or not self.is_named(qid):
                continue
            self.exact[label].append(qid)
            norm = normalise(label)
            self.normal[norm].append(qid)
            by_prefix[norm[:3]].append(norm)
        self.by_prefix = {k: sorted(set(v)) for k, v in by_prefix.items()}
        self._lookup = lru_cache(maxsize=200_000)(self._lookup_uncached)

    def is_named(self, qid: str) -> bool:
        """Whether an entity links by its label: a named entity, not a concept or a name."""
        label = self.kg.label(qid) or ""
        if label == label.lower():
            return False
        if qid in self.not_entities:
            return False
        return not _NAME_ONLY.search(self.kg.description(qid) or "")

    # -- candidate generation -------------------------------------------------------------
    def _lookup_uncached(self, surface: str, fuzzy: bool = False) -> tuple[tuple[str, ...], float]:
        """Candidates of a surface form and the score of the match kind."""
        norm = normalise(surface)
        if not norm:
            return (), 0.0
        raw = surface.casefold().strip()
        if raw in self.alias:  # "U.S." keeps its dots
            norm = raw
        elif (
            norm not in self.alias
            and norm.endswith("s")
            and norm[:-1] in self.alias
            and len(norm) > 4
            and surface[:1].isupper()
        ):
            norm = norm[:-1]  # "Canadians" -> "canadian"
        if norm in self.alias:  # before labels: "Russian" is Russia, not the language
            if norm in _UPPER_ONLY and not surface.strip(" .").isupper():
                return (), 0.0
            if surface[:1].isupper() or len(norm) > 4:
                return (self.alias[norm],), 0.95
            return (), 0.0
        if norm in _STOP or len(norm) < 3:
            return (), 0.0
        single = len(norm.split()) == 1
        if surface in self.exact and (not single or surface[:1].isupper()):
            found = tuple(
                q for q in self.exact[surface] if not single or self.degree[q] >= self.min_degree
            )
            if found:
                return found, 1.0
        capitalised = surface[:1].isupper() or len(norm.split()) > 1
        if capitalised and norm in self.normal:
            found = tuple(
                q for q in self.normal[norm] if not single or self.degree[q] >= self.min_degree
            )
            if found:
                return found, 0.9
        if capitalised and norm.endswith("s") and norm[:-1] in self.normal:
            return tuple(self.normal[norm[:-1]]), 0.9
        if fuzzy and capitalised and len(norm) >= 5:
            pool = self.by_prefix.get(norm[:3], [])
            if pool:
                best = process.extractOne(norm, pool, scorer=fuzz.ratio, score_cutoff=88)
                if best is not None:
                    return tuple(self.normal[best[0]]), best[1] / 100 * 0.85
        return (), 0.0

    def _choose(self, candidates: Iterable[str], context: set[str]) -> str:
        def rank(qid: str) -> tuple[int, int]:
            near = sum(
                1
                for c in context
                if c != qid and (self.kg.graph.has_edge(qid, c) or self.kg.graph.has_edge(c, qid))
            )
            return near, self.degree.get(qid, 0)

        return max(candidates, key=rank)

    def link_phrase(
        self, text: str, start: int, end: int, *, role: str = "", context: set[str] | None = None
    ) -> list[EntityLink]:
        """Links of text[start:end]: the whole phrase, else its longest matching sub-spans
        ("UK pound" -> United Kingdom and pound sterling), scored 0.9x the sub-span match."""
        context = context if context is not None else set()
        return [link for link in self._scan(text, start, end, context, role)]

    def _scan(
        self,
        text: str,
        start: int,
        end: int,
        context: set[str],
        role: str,
        max_tokens: int = 6,
        fuzzy: bool = True,
    ) -> list[EntityLink]:
        phrase = text[start:end]
        cands, score = self._lookup(phrase, fuzzy)
        if cands and score >= self.threshold:
            qid = self._choose(cands, context)
            context.add(qid)
            return [EntityLink(phrase, start, end, qid, self.kg.label(qid) or qid, score, role)]
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(phrase)]
        # Stop words cannot open or close a span, unless written in capitals ("US", "WHO").
        stop = [phrase[s:e].casefold() in _STOP and not phrase[s:e].isupper() for s, e in tokens]
        taken = [False] * len(tokens)
        found: list[tuple[int, int, tuple[str, ...], float]] = []
        for size in range(min(max_tokens, len(tokens)), 0, -1):
            for i in range(len(tokens) - size + 1):
                if any(taken[i : i + size]) or stop[i] or stop[i + size - 1]:
                    continue
                s, e = tokens[i][0], tokens[i + size - 1][1]
                cands, score = self._lookup(phrase[s:e])
                score = score * 0.9 if len(tokens) > 1 else score
                if cands and score >= self.threshold:
                    found.append((s, e, cands, score))
                    taken[i : i + size] = [True] * size
        # Ambiguous mentions are resolved once every mention is matched, so "Georgia" in
        # "Georgia governor visits Atlanta" sees Atlanta.
        context.update(c[0] for _, _, c, _ in found if len(c) == 1)
        links: list[EntityLink] = []
        for s, e, cands, score in sorted(found):
            qid = self._choose(cands, context)
            context.add(qid)
            label = self.kg.label(qid) or qid
            links.append(
                EntityLink(phrase[s:e], start + s, start + e, qid, label, round(score, 4), role)
            )
        return links

    # -- public API -----------------------------------------------------------------------
    def link_mentions(self, text: str, mentions: list[tuple[int, int]]) -> list[EntityLink]:
        """Links of the given (start, end) character spans of `text`, each as `link_phrase`
        links it (with fuzzy matching), no role; earlier mentions are context for later ones."""
        context: set[str] = set()
        return [link for s, e in mentions for link in self._scan(text, s, e, context, "")]

    def link_events(self, text: str, events: list[Event]) -> list[EntityLink]:
        """Links of the subject and object phrases of each event (role set)."""
        context: set[str] = set()
        links: list[EntityLink] = []
        for event in events:
            parts: list[tuple[str, Phrase | None]] = [
                ("subject", event.subject),
                ("object", event.object),
            ]
            for role, phrase in parts:
                if phrase is not None:
                    links.extend(self._scan(text, phrase.start, phrase.end, context, role))
        return links

    def link_text(self, text: str) -> list[EntityLink]:
        """Linkable n-grams of a raw headline, longest first, without overlaps."""
        return self._scan(text, 0, len(text), set(), "", fuzzy=False)
