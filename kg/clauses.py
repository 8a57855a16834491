"""The dependency-tree rules of event extraction (kg.extract): which tokens make a phrase,
a verb's subject and objects, its predicate and negation (the repairs of misparses are in
kg.repairs). The rules are described in kg.extract's docstring; this module holds their
code.
"""

from __future__ import annotations

import re
from typing import Any

from kg.lexicon import (
    COMPLEMENT_PREPS,
    CONTROL,
    CURRENCY,
    NEG_WORDS,
    NOT_NOMINAL,
    PASSIVE_PREPS,
    RELATIVE,
    REPORTING,
)
from kg.truecase import common_words
from kg.types import Phrase

__all__ = [
    "SUBJECT_DEPS",
    "is_negated",
    "is_verb",
    "objects_of",
    "own_subject_of",
    "phrase_of",
    "predicate_of",
    "subject_of",
    "xcomp_target_of",
]

SUBJECT_DEPS = {"nsubj", "nsubjpass", "csubj"}
_NOMINAL = {"NOUN", "PROPN", "PRON", "NUM"}
_KEEP = {
    "compound",
    "amod",
    "det",
    "nummod",
    "poss",
    "nmod",
    "quantmod",
    "flat",
    "case",
    "predet",
    "npadvmod",
    "punct_inner",
}


def _phrase_tokens(token: Any) -> list[Any]:
    """The token with its modifiers and "of"-phrases (not relative clauses or appositions)."""
    keep = [token]
    for child in token.children:
        if child.dep_ in _KEEP:
            keep.extend(_phrase_tokens(child))
        elif child.dep_ == "prep" and child.lower_ == "of":
            keep.append(child)
            keep.extend(
                t for obj in child.children if obj.dep_ == "pobj" for t in _phrase_tokens(obj)
            )
    return keep


def _singular(word: str, common: frozenset[str]) -> str:
    """A capitalised common noun's lemma ("Surgeons" -> "surgeon"); names stay as written."""
    if not word.endswith("s") or len(word) < 4:
        return word
    for stem in (word[:-3] + "y" if word.endswith("ies") else "", word[:-1], word[:-2]):
        if stem and stem in common:
            return stem
    return word


def _head_word(token: Any) -> str:
    if token.like_num or token.pos_ == "NUM":
        symbol = next((c.text for c in token.children if c.text in CURRENCY), None)
        if symbol is not None:
            return symbol  # "$124 billion" -> "$"
    if token.pos_ == "PROPN":
        if token.text.isupper():
            return token.lower_  # "ISIS", "NATO"
        if token.doc.user_data.get("title_case"):  # "Trade Preferences", not "United States"
            return _singular(token.lower_, common_words())
        return token.lower_
    return token.lemma_.lower()


# A one-syllable verb ending in a short vowel and one consonant doubles it before -ed,
# -ing ("rap" -> "rapped"), so "raped", "raping", "hopes" come from "rape", "hope".
_SHORT_CVC = re.compile(r"^[^aeiouy]*[aeiou][^aeiouwxy]$")


def _verb_lemma(verb: Any) -> str:
    """The verb's lemma, mending the rule lemmatizer's "staged" -> "stag", "raped" -> "rap"."""
    lemma = verb.lemma_.lower()
    form = verb.lower_
    if _SHORT_CVC.match(lemma) and form in {lemma + "ed", lemma + "ing", lemma + "es"}:
        return lemma + "e"
    if form.endswith("ed") and lemma == form[:-2]:
        common = common_words()
        if form[:-1] in common and lemma not in common:
            return form[:-1]
    return lemma


def phrase_of(token: Any) -> Phrase:
    """The phrase `token` heads (its modifiers and "of"-phrases) as one contiguous span of
    the headline as written: leading determiners and punctuation dropped, cut short of a
    shifted verb inside it; its head is `token`'s head word."""
    tokens = sorted(_phrase_tokens(token), key=lambda t: t.i)
    # A phrase is contiguous: take the run around the head, dropping leading determiners.
    first, last = tokens[0].i, tokens[-1].i
    doc = token.doc
    for verb in doc.user_data.get("shifted", ()):  # "court orders release": not "orders"
        if first <= verb < token.i:
            first = verb + 1
        elif token.i < verb <= last:
            last = verb - 1
    while first < token.i and doc[first].dep_ in {"det", "punct"}:
        first += 1
    span = doc[first : last + 1]
    text = doc.user_data["text"][span.start_char : span.end_char]
    return Phrase(text, span.start_char, span.end_char, _head_word(token) or token.lower_)


def is_negated(verb: Any) -> bool:
    """Whether `verb` is negated: a negation among its children ("not", "n't", "never",
    "no"), or "no" determining its subject or direct object ("no survivors found")."""
    return any(c.dep_ == "neg" or c.lower_ in NEG_WORDS for c in verb.children) or any(
        c.dep_ == "det" and c.lower_ == "no"
        for obj in verb.children
        for c in obj.children
        if obj.dep_ in SUBJECT_DEPS or obj.dep_ in {"dobj", "obj"}
    )


def own_subject_of(head: Any) -> Any | None:
    """The first subject among `head`'s own children (SUBJECT_DEPS), none inherited; or
    None."""
    return next((c for c in head.children if c.dep_ in SUBJECT_DEPS), None)


def subject_of(verb: Any) -> tuple[Any | None, Any | None]:
    """(subject token, passive patient token) of a verb.

    The agent of a passive is its subject; without one, the patient is. A verb with no
    subject of its own inherits it through conj/xcomp/ccomp (headlines join clauses
    with commas: "Israel bombs Gaza, kills 20").
    """
    patient = next((c for c in verb.children if c.dep_ == "nsubjpass"), None)
    passive = patient is not None or any(c.dep_ == "auxpass" for c in verb.children)
    agent = next((c for c in verb.children if c.dep_ == "agent"), None)
    if patient is None and passive and verb.dep_ == "xcomp":
        patient = _inherited(verb)  # "Institute ordered to be demolished by ..."
    if agent is not None:
        pobj = next((c for c in agent.children if c.dep_ == "pobj"), None)
        if pobj is not None:
            if patient is None:  # "Officer shot dead by sniper" (labelled nsubj)
                patient = own_subject_of(verb)
            if patient is None and verb.dep_ == "acl" and verb.head.pos_ in _NOMINAL:
                patient = verb.head  # "Applebaum arrested by anti-corruption unit"
            return pobj, patient
    subjects = [c for c in verb.children if c.dep_ in SUBJECT_DEPS]
    if len(subjects) > 1 and _verb_lemma(verb) in REPORTING:
        subjects = [c for c in subjects if c.i > verb.i] or subjects  # "..., says Germany"
    for child in subjects:
        if child.lower_ in RELATIVE and verb.dep_ == "relcl":
            return verb.head, None  # "planet that challenges theories"
        return child, None
    if verb.dep_ == "compound" or verb.pos_ == "NOUN":
        # misparses: "ISIS executes journalist" (a verb inside a noun compound), "Russia
        # bombards Syrian rebels" (a verb tagged as a noun, known by its object)
        left = [c for c in verb.children if c.dep_ == "compound" and c.pos_ in _NOMINAL]
        if left and left[-1].i < verb.i:
            return left[-1], None
    owner = next((c for c in verb.children if c.dep_ == "poss" and c.i < verb.i), None)
    if owner is not None:
        return owner, None  # "Moody's cuts Japan credit rating"
    inherited = _inherited(verb)
    if inherited is not None:
        return inherited, None
    if verb.dep_ == "relcl" and verb.head.pos_ in {"NOUN", "PROPN"}:
        return verb.head, None
    if verb.dep_ == "acl" and verb.head.pos_ in _NOMINAL:
        noun = _of_phrase_head(verb.head) if verb.tag_ == "VBN" else verb.head
        if _fragment_head(noun):
            return noun, None  # "Retirement homes planned for ...", "NKorea preparing ..."
    return None, None


def _inherited(verb: Any) -> Any | None:
    head = verb.head
    if head is verb:
        return None
    if verb.dep_ == "xcomp":
        controller = next((c for c in head.children if c.dep_ in {"dobj", "obj"}), None)
        if controller is not None and controller.i < verb.i and _verb_lemma(head) in CONTROL:
            return controller  # "urges Britain to leave": Britain leaves
        while head.dep_ in {"acomp", "xcomp"} and head.pos_ in {"ADJ", "ADP", "AUX", "VERB"}:
            if own_subject_of(head) is not None:
                break
            head = head.head  # "Assange is likely to be extradited"
        if head.pos_ in {"VERB", "AUX", "ADJ", "ADP"} or is_verb(head):
            subj, _ = subject_of(head) if is_verb(head) else (own_subject_of(head), None)
            return subj
    infinitive = any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)
    purpose = verb.dep_ == "advcl" and infinitive  # "gives $1bn to rebuild Georgia"
    if verb.dep_ in {"acl", "advcl"} and infinitive and is_verb(head) and head.pos_ == "NOUN":
        subj, _ = subject_of(head)  # "FBI bids to extradite ...": a noun verb's infinitive
        return subj
    if (verb.dep_ in {"conj", "ccomp"} or purpose) and (
        head.pos_ in {"VERB", "AUX"} or is_verb(head)
    ):
        subj, _ = subject_of(head)
        return subj
    return None


def _of_phrase_head(noun: Any) -> Any:
    """The noun an "of"-phrase belongs to: "Remains of 167 people" -> "Remains", so that a
    participle after the phrase is read on the whole of it ("Remains of 167 People Found")."""
    while noun.dep_ == "pobj" and noun.head.lower_ == "of" and noun.head.head.pos_ in _NOMINAL:
        noun = noun.head.head
    return noun


def _fragment_head(noun: Any) -> bool:
    """A noun that heads the headline or one of its parts (no verb above it)."""
    while noun.dep_ in {"appos", "conj", "dep"} and noun.head is not noun:
        noun = noun.head
    return noun.dep_ == "ROOT"


def _infinitive_subject(verb: Any) -> Any | None:
    """The subject of an infinitive or small-clause complement: "allow Jedi to perform",
    "help them overcome", "declares internet porn illegal"."""
    for child in verb.children:
        if child.dep_ == "ccomp" and (child.tag_ == "VB" or child.pos_ == "ADJ"):
            subj = next((c for c in child.children if c.dep_ == "nsubj"), None)
            if (
                subj is not None
                and subj.i < child.i
                and not any(c.dep_ == "aux" and c.lower_ != "to" for c in child.children)
            ):
                return subj
    return None


def objects_of(verb: Any, passive_patient: Any | None) -> list[tuple[Any, str]]:
    """[(object token, predicate suffix)] with conjoined objects expanded."""
    found: list[tuple[Any, str]] = []
    children = list(verb.children)
    if (
        passive_patient is None
        and _verb_lemma(verb) in REPORTING
        and any(c.dep_ in {"ccomp", "xcomp"} for c in children)
    ):
        return []  # "X says Y": the clause is its own event
    direct = [c for c in children if c.dep_ in {"dobj", "obj"}]
    direct = direct or [
        c for c in children if c.dep_ in {"attr", "oprd", "dative"} and c.pos_ in _NOMINAL
    ]
    if not direct and verb.i in verb.doc.user_data.get("noun_verbs", ()):
        # a noun verb's object hangs on it as an apposition: "coalition invades Yemen"
        direct = [c for c in children if c.dep_ == "appos" and c.i > verb.i]
    if passive_patient is not None and not direct:
        direct = [passive_patient]  # "X arrested by Y": (Y, arrest, X)
    if not direct:
        direct = [
            c
            for c in children
            if c.dep_ == "npadvmod"
            and (c.like_num or c.text == "%" or any(g.like_num for g in c.children))
        ]
    if not direct and verb.dep_ == "compound" and verb.head.pos_ in {"NOUN", "PROPN"}:
        direct = [verb.head]  # "ISIS executes journalist", "Sarkozy signs bill"
    if not direct and passive_patient is None:
        subj = _infinitive_subject(verb)
        direct = [subj] if subj is not None else []
    if direct:
        found = [(direct[0], "")]
    else:
        passive = any(c.dep_ in {"auxpass", "nsubjpass"} for c in children) or (
            verb.tag_ == "VBN" and verb.dep_ == "acl"
        )
        allowed = PASSIVE_PREPS if passive else COMPLEMENT_PREPS
        for prep in (c for c in children if c.dep_ in {"prep", "dative"}):
            if prep.lower_ not in allowed:
                continue
            pobj = next((c for c in prep.children if c.dep_ in {"pobj", "pcomp"}), None)
            if pobj is not None and pobj.pos_ != "VERB":
                found = [(pobj, prep.lower_)]
            break
    out = []
    for token, suffix in found:
        out.append((token, suffix))
        out.extend((c, suffix) for c in token.conjuncts if c.i > token.i)
        out.extend(  # "bribed doctors, hospitals": a comma list of plain nouns
            (c, suffix)
            for c in token.children
            if c.dep_ == "appos"
            and c.pos_ == "NOUN"
            and token.pos_ == "NOUN"
            and c.tag_ == token.tag_
            and c.doc[c.i - 1].text == ","
        )
    return [(t, suffix) for t, suffix in out if t.pos_ not in NOT_NOMINAL]


def predicate_of(verb: Any, suffix: str) -> Phrase:
    """The predicate of `verb`: its text runs from the verb to its particle when that
    follows it ("called off"); its head is the verb's lemma, the particle and the object's
    preposition `suffix` ("call off", "call for")."""
    particle = next((c for c in verb.children if c.dep_ == "prt"), None)
    parts = [_verb_lemma(verb)] + ([particle.lower_] if particle is not None else [])
    if suffix:
        parts.append(suffix)
    end_tok = particle if particle is not None and particle.i > verb.i else verb
    text = verb.doc.user_data["text"]
    return Phrase(
        text[verb.idx : end_tok.idx + len(end_tok.text)],
        verb.idx,
        end_tok.idx + len(end_tok.text),
        " ".join(parts),
    )


def xcomp_target_of(verb: Any) -> Any | None:
    """The verb of `verb`'s open complement ("plans to leave": leave), for a noun verb its
    infinitive clause ("votes to legalize": legalize); None without one."""
    found = next((c for c in verb.children if c.dep_ == "xcomp" and c.pos_ == "VERB"), None)
    if found is None and verb.pos_ == "NOUN":  # a noun verb: "votes to legalize"
        found = next(
            (
                c
                for c in verb.children
                if c.dep_ in {"acl", "advcl"}
                and c.pos_ == "VERB"
                and any(a.dep_ == "aux" and a.lower_ == "to" for a in c.children)
            ),
            None,
        )
    return found


def is_verb(token: Any) -> bool:
    """Whether `token` is a verb: tagged VERB, or a noun repaired as one (kg.repairs)."""
    return token.pos_ == "VERB" or token.i in token.doc.user_data.get("noun_verbs", ())
