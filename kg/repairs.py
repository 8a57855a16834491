"""Repairs of common headline misparses, for event extraction (kg.extract): which tokens are
verbs (`verb_positions`), nouns the tagger missed as verbs (`find_noun_verbs`), verbs it
shifted onto the next noun (`find_shifted_verbs`, by the corpus tag shares of
kg.tag_shares), and a reporting noun closing the headline (`final_speaker`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from spacy.attrs import DEP, HEAD, POS, TAG
from spacy.strings import get_string_id
from spacy.symbols import NOUN, VERB, dobj, nsubj, pobj

from kg.clauses import SUBJECT_DEPS
from kg.lexicon import REPORTING
from kg.tag_shares import noun_share, vbz_share

__all__ = ["COLUMNS", "final_speaker", "find_noun_verbs", "find_shifted_verbs", "verb_positions"]

_CLAUSE_PREPS = {"after", "before", "as", "since", "until", "when", "while", "once"}


def find_noun_verbs(doc: Any, arr: Any) -> set[int]:
    """-s words tagged as plural nouns that are verbs: the headline's root or the object of
    a clause-taking "after"/"as"/... ("Argentina defaults", "Saudi court sentences poet",
    "as outbreak spreads", "after UK votes for Brexit"), right after a noun that modifies
    them (the real subject), when the corpus tags the word VBZ often (kg.tag_shares)."""
    found = set()
    dep = arr[:, 1]
    for i in np.flatnonzero((arr[:, 3] == _NNS) & ((dep == _ROOT) | (dep == pobj))).tolist():
        word = doc[i]
        if i == 0 or word.dep_ not in {"ROOT", "pobj"} or vbz_share(word.lower_) < 0.25:
            continue
        if word.dep_ == "pobj" and word.head.lower_ not in _CLAUSE_PREPS:
            continue
        left = doc[i - 1]
        if left.head.i != i or left.dep_ != "compound" or left.pos_ not in {"NOUN", "PROPN"}:
            continue
        if any(c.dep_ in SUBJECT_DEPS for c in word.children):
            continue
        found.add(i)
        found.update(  # "chopper crosses the border, shoots at US agents"
            c.i
            for c in word.children
            if c.dep_ == "conj" and c.tag_ == _NNS_TAG and vbz_share(c.lower_) >= 0.25
        )
    return found


def verb_positions(doc: Any, arr: Any) -> list[int]:
    """Indices of the verbs, and of the nouns that have a direct object (verbs the tagger
    took for nouns: "Russia bombards Syrian rebels"), from the arrays: fast."""
    found = set(np.flatnonzero(arr[:, 0] == VERB).tolist())
    for i in np.flatnonzero(arr[:, 1] == dobj).tolist():
        head = i + int(arr[i, 2].astype(np.int64))
        if arr[head, 0] == NOUN and head < i:
            found.add(head)
    found.update(doc.user_data.get("noun_verbs", ()))
    return sorted(found)


_NNS_TAG = "NNS"
_NNS = get_string_id(_NNS_TAG)
_ROOT = get_string_id("ROOT")
_COMPOUND = get_string_id("compound")


COLUMNS = [POS, DEP, HEAD, TAG]


def find_shifted_verbs(doc: Any, arr: Any) -> dict[int, tuple[Any, Any | None]]:
    """Verbs the tagger shifted one word to the right: "Turkish court scraps plan to ...",
    parsed as the plural noun "scraps" (subject) and the verb "plan". Taken as such when the
    -s word has a noun or adjective before it (the real subject), and, over the headline
    corpus, is often read as a verb while the word after it is often read as a noun
    (kg.tag_shares): "scraps plan", "rejects deal", "vetoes bid", but not "images show" or
    "blasts kill". {index of the -s word: (subject token, object token)}; the object is
    the "verb" itself, or its direct object when the "verb" only modifies it ("prints
    petrol bomb guide", "faces record $10-billion fine")."""
    found: dict[int, tuple[Any, Any]] = {}
    for i in np.flatnonzero((arr[:, 3] == _NNS) & (arr[:, 1] == nsubj)).tolist():
        if i == 0 or int(arr[i, 2].astype(np.int64)) != 1:
            continue
        word, verb, left = doc[i], doc[i + 1], doc[i - 1]
        if verb.tag_ not in {"VBP", "VB"} or left.head.i != i:
            continue
        if left.dep_ not in {"compound", "amod"} or left.pos_ not in {"NOUN", "PROPN", "ADJ"}:
            continue
        vbz, noun = vbz_share(word.lower_), noun_share(verb.lower_)
        if vbz < 0.25 or noun < 0.25 or vbz + noun < 0.9:
            continue
        obj = verb
        direct = next((c for c in verb.children if c.dep_ in {"dobj", "obj"}), None)
        if direct is not None and all(
            t.head.i == direct.i or t.head.i in range(verb.i + 1, direct.i)
            for t in doc[verb.i + 1 : direct.i]
        ):
            obj = direct  # "petrol" modifies "guide"
        found[i] = (left, obj)
    # the same shift with the object as head: "British court orders release of ...",
    # parsed as the noun "release" modified by "orders"
    for i in np.flatnonzero((arr[:, 3] == _NNS) & (arr[:, 1] == _COMPOUND)).tolist():
        if i == 0 or int(arr[i, 2].astype(np.int64)) != 1:
            continue
        word, obj, left = doc[i], doc[i + 1], doc[i - 1]
        if obj.tag_ != "NN" or vbz_share(word.lower_) < 0.25:
            continue
        if left.dep_ == "case" and left.head.i < left.i:
            left = left.head  # "Moody's cuts rating"
        if left.pos_ not in {"NOUN", "PROPN"}:
            continue
        found[i] = (left, None if word.lemma_ in REPORTING else obj)
    return found


def final_speaker(doc: Any) -> tuple[Any, Any] | None:
    """A reporting verb closing the headline after a comma, tagged as a plural noun:
    "Libyans tried to save U.S. ambassador, video shows" -> (speaker token, verb token)."""
    end = len(doc)
    while end > 0 and doc[end - 1].is_punct:
        end -= 1
    if end < 4:
        return None
    verb, speaker = doc[end - 1], doc[end - 2]
    if verb.pos_ != "NOUN" or not verb.lower_.endswith("s") or verb.lemma_ not in REPORTING:
        return None
    if speaker.pos_ not in {"NOUN", "PROPN", "ADJ"}:  # "executive admits": tagged JJ
        return None
    start = speaker.i
    while start > 0 and doc[start - 1].dep_ in {"compound", "amod", "det", "nummod"}:
        start -= 1
    if start == 0 or doc[start - 1].text != ",":
        return None
    return speaker, verb
