"""Issue 12: headline grammar the extractor handles, and what the linker will not link.

Real spaCy parses and the bundled graph (the session `pipeline` fixture)."""

from __future__ import annotations

import pytest

from kg.truecase import is_title_case, lower_title_case


def _events(pipeline, text: str) -> list:  # type: ignore[no-untyped-def]
    doc = next(pipeline.extractor.parse([text]))
    events = pipeline.extractor.extract_doc(doc)
    for e in events:  # offsets and texts point into the headline as written
        for part in (e.subject, e.predicate, e.object):
            if part is not None:
                assert text[part.start : part.end] == part.text
    return events


def _tuples(pipeline, text: str) -> set[tuple]:  # type: ignore[no-untyped-def]
    return {
        (e.subject.head, e.predicate.head, e.object.head if e.object else None)
        for e in _events(pipeline, text)
    }


def test_title_case_is_lower_cased_keeping_names_and_length() -> None:
    text = "Egyptian Court Declares Internet Porn Illegal"
    lowered = lower_title_case(text)
    assert lowered == "Egyptian court declares Internet porn illegal"
    assert len(lowered) == len(text)
    plain = "Britain votes to leave the EU"
    assert not is_title_case(plain) and lower_title_case(plain) == plain
    # the first word of each part keeps its capital
    assert lower_title_case("Update: Police Arrest Protesters in Cairo").startswith(
        "Update: Police arrest"
    )


def test_title_case_headline_parses_as_a_sentence(pipeline) -> None:  # type: ignore[no-untyped-def]
    text = "Egyptian Court Declares Internet Porn Illegal"
    events = _events(pipeline, text)
    assert [(e.subject.head, e.predicate.head, e.object.head) for e in events] == [
        ("court", "declare", "porn")
    ]
    assert events[0].subject.text == "Egyptian Court"  # as written, not lower-cased
    assert ("obama", "withdraw", "preference") in _tuples(
        pipeline, "Obama Withdrawing Trade Preferences for Russia"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # place, time and cause prepositions are not objects; complements are
        ("Atheist advertising rejected in Vancouver", ("advertising", "reject", None)),
        ("Canadian doctors go to Haiti on their own accord", ("doctor", "go to", "haiti")),
        # a relative pronoun stands for its noun
        (
            "NASA finds a pink planet that challenges current theories",
            ("planet", "challenge", "theory"),
        ),
        # participle noun-phrase headlines: past = passive, present = active
        ("Retirement homes planned for Swiss junkies", ("home", "plan", None)),
        (
            "Montreal Mayor Michael Applebaum arrested by anti-corruption unit",
            ("unit", "arrest", "applebaum"),
        ),
        ("NKorea preparing long-range missile test", ("nkorea", "prepare", "test")),
        # a passive infinitive takes the governing subject as its patient
        (
            "World's Largest Tibetan Buddhist Institute Ordered to be Demolished by "
            "Chinese Government",
            ("government", "demolish", "institute"),
        ),
        # object control and small clauses
        ("G20 urges euro zone to fix debt crisis", ("zone", "fix", "crisis")),
        ("Scotland may allow Jedi to perform marriage ceremonies", ("scotland", "allow", "jedi")),
        # money
        ("Greece to receive up to $124 billion in new EU loans", ("greece", "receive", "$")),
        # quote first, speaker after the verb
        ("Ukraine close to war, says Germany", ("germany", "say", None)),
        # a passive whose patient the parser labels as subject
        (
            "Azerbaijan: Army Officer Shot Dead By Armenian Sniper",
            ("sniper", "shoot", "officer"),
        ),
        # a verb the parser buried in a noun compound
        ("ISIS executes journalist in Iraq's Mosul.", ("isis", "execute", "journalist")),
        # a verb tagged as a noun, known by its object; a possessive subject
        ("Russia bombards Syrian rebels near Aleppo", ("russia", "bombard", "rebel")),
        ("Moody's cuts Japan credit rating", ("moody", "cut", "rating")),
    ],
)
def test_headline_constructions(pipeline, text: str, expected: tuple) -> None:  # type: ignore[no-untyped-def]
    assert expected in _tuples(pipeline, text)


def test_reporting_verbs_take_no_object_and_the_clause_is_an_event(pipeline) -> None:  # type: ignore[no-untyped-def]
    got = _tuples(pipeline, "OPEC states that Venezuela has the largest oil reserves")
    assert got == {("opec", "state", None), ("venezuela", "have", "reserve")}
    got = _tuples(
        pipeline,
        "Chinese police say employees of drug maker GlaxoSmithKline bribed doctors, hospitals",
    )
    assert got == {
        ("police", "say", None),
        ("employee", "bribe", "doctor"),
        ("employee", "bribe", "hospital"),
    }


def test_names_and_noun_phrases_give_no_event(pipeline) -> None:  # type: ignore[no-untyped-def]
    # "Said" in "Port Said" is tagged as a verb; inside a sentence-case headline it is a name
    assert _tuples(pipeline, "Egypt unrest: Morsi declares emergency in Port Said") == {
        ("morsi", "declare", "emergency")
    }
    assert _tuples(pipeline, "Gaza fishermen under siege") == set()
    # plurals of names stay as written outside Title Case
    assert ("states", "deploy", "troop") in _tuples(
        pipeline, "United States to deploy ground troops to Poland"
    )


def test_linker_skips_concepts_and_given_names(pipeline) -> None:  # type: ignore[no-untyped-def]
    linker = pipeline.linker
    ids = [x.entity_id for x in linker.link_text("Journalist Assaulted for Reporting on War")]
    assert ids == []
    assert [x.mention for x in linker.link_text("TED: Hans Rosling debunks myths")] == []
    kg = pipeline.graph
    concepts = [q for q, label in kg.labels.items() if q in kg and label and label.islower()]
    assert concepts and not any(linker.is_named(q) for q in concepts[:50])


def test_linker_plural_aliases_and_hyphenated_names(pipeline) -> None:  # type: ignore[no-untyped-def]
    linker = pipeline.linker
    got = {x.mention: x.entity_id for x in linker.link_text("Libyans and Canadians protest")}
    assert got == {"Libyans": "Q1016", "Canadians": "Q16"}
    ids = [x.entity_id for x in linker.link_text("The Coming China-India Conflict")]
    assert ids == ["Q148", "Q668"]
    assert linker.link_text("Ten new oceans found") == []  # lower case plural is no alias


def test_ambiguous_mention_sees_the_entities_after_it(pipeline) -> None:  # type: ignore[no-untyped-def]
    """Georgia the US state (Q1428) next to Atlanta; the country (Q230) next to Tbilisi."""
    linker = pipeline.linker
    got = {x.mention: x.entity_id for x in linker.link_text("Georgia governor visits Atlanta")}
    assert got["Georgia"] == "Q1428"
    got = {x.mention: x.entity_id for x in linker.link_text("Georgia joins NATO, Tbilisi says")}
    assert got["Georgia"] == "Q230"


def test_wikimedia_pages_and_names_are_not_linkable(pipeline) -> None:  # type: ignore[no-untyped-def]
    linker, kg = pipeline.linker, pipeline.graph
    # Wikimedia categories are not in the graph at all (kg.graph leaves them out)...
    pages = [h for h, t, r in kg.graph.edges(keys=True) if r == "P31" and t == "Q4167836"]
    assert pages == [] and kg.dropped["wikimedia_entities"] > 4000
    assert "Q1281" not in kg and not linker.link_text("Category:Contents")
    # ...and names (male given names) stay unlinkable by their type
    names = [h for h, t, r in kg.graph.edges(keys=True) if r == "P31" and t == "Q12308941"]
    assert names and not any(linker.is_named(q) for q in names)
    assert linker.is_named("Q145") and linker.is_named("Q192")  # United Kingdom, David Cameron


@pytest.mark.parametrize(
    ("text", "expected", "not_expected"),
    [
        # the tagger shifts the verb one word right: "rejects" read as the plural subject
        (
            "Israeli court rejects deal on settlers' Migron outpost",
            ("court", "reject", "deal"),
            None,
        ),
        (
            "Russia vetoes bid to set up tribunal for downed flight MH17",
            ("russia", "veto", "bid"),
            ("veto", "set up", "tribunal"),
        ),
        # the shifted "verb" only modifies the object
        pytest.param(
            "Tunisia children's magazine prints petrol bomb guide",
            ("magazine", "print", "guide"),
            ("print", "petrol", "guide"),
            # "prints" is read as a verb only in headlines after 2014: tag shares counted on
            # training-period text alone (kg.tag_shares) no longer know it, and this repair
            # is lost with them (the tuned gold set's F1 0.773 -> 0.768, the blind set's
            # stays 0.700)
            marks=pytest.mark.xfail(strict=True, reason="needs test-period tag counts"),
        ),
        # a plural noun that is no verb, or a verb that is no noun: the parse stands
        (
            "Satellite images show Iran is building a fake aircraft carrier",
            ("image", "show", None),
            None,
        ),
        ("Afghanistan blasts kill 13 in Helmand province", ("blast", "kill", "13"), None),
    ],
)
def test_verbs_shifted_onto_the_next_noun(
    pipeline, text: str, expected: tuple, not_expected
) -> None:  # type: ignore[no-untyped-def]
    got = _tuples(pipeline, text)
    assert expected in got
    assert not_expected not in got


def test_tag_shares_read_from_the_corpus() -> None:
    from kg.tag_shares import noun_share, vbz_share

    assert vbz_share("rejects") > 0.5 and noun_share("deal") > 0.5
    assert vbz_share("rebels") == 0.0 and noun_share("kill") < 0.25
    assert vbz_share("no-such-word-xyz") == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the rule lemmatizer strips -ed/-ing/-es whole: "raped" -> "rap"; a short verb
        # would double its consonant ("rapped"), so the lemma ends in -e
        ("Soldiers raped women in Darfur", ("soldier", "rape", "woman")),
        ("Activists staged a protest in Cairo", ("activist", "stage", "protest")),
        ("Police planned a raid on the camp", ("police", "plan", "raid")),
    ],
)
def test_verb_lemmas_of_short_verbs(pipeline, text: str, expected: tuple) -> None:  # type: ignore[no-untyped-def]
    assert expected in _tuples(pipeline, text)


def test_reporting_verb_closing_the_headline_tagged_as_a_noun(pipeline) -> None:  # type: ignore[no-untyped-def]
    got = _tuples(pipeline, "Libyans tried to save U.S. ambassador, video shows")
    assert got == {("video", "show", None), ("libyans", "save", "ambassador")}
    got = _tuples(
        pipeline, "ISIS oil trucks cross into Turkey every day, captured terrorist admits"
    )
    assert ("terrorist", "admit", None) in got
    # no comma before it: a noun phrase, not a speaker
    assert ("snowden", "report", None) not in _tuples(
        pipeline, "Snowden Receives Human Rights Award in Berlin: Reports"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an -s verb tagged as a plural noun, heading the headline after its subject
        ("Argentina defaults for second time", ("argentina", "default for", "time")),
        (
            "FBI bids to extradite 'largest child-porn dealer on planet'",
            ("fbi", "extradite", "dealer"),
        ),
        # ... or after a clause-taking "after", "as"
        (
            "J.K. Rowling leads the charge for Scottish independence after UK votes for Brexit",
            ("uk", "vote for", "brexit"),
        ),
        (
            "Syrian state media say 29 students and a teacher killed after a mortar slams into "
            "a school outside Damascus",
            ("mortar", "slam into", "school"),
        ),
    ],
)
def test_verbs_tagged_as_plural_nouns(pipeline, text: str, expected: tuple) -> None:  # type: ignore[no-untyped-def]
    assert expected in _tuples(pipeline, text)


def test_plural_nouns_that_stay_nouns(pipeline) -> None:  # type: ignore[no-untyped-def]
    # "more" is no subject; "talks" is seldom a verb
    assert ("more", "cut", None) not in _tuples(
        pipeline, "Spain today: more cuts and police crushing people"
    )
    assert _tuples(pipeline, "Syria peace talks in Geneva") == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a participle after an "of"-phrase is read on the whole phrase, passive
        ("DETROIT: Leader of radical Islam group killed in FBI raid", ("leader", "kill", None)),
        (
            "5 metric tons of cocaine discovered aboard sunken narcosub off Honduras",
            ("ton", "discover", None),
        ),
    ],
)
def test_participle_after_an_of_phrase(pipeline, text: str, expected: tuple) -> None:  # type: ignore[no-untyped-def]
    assert _tuples(pipeline, text) == {expected}


def test_noun_verb_objects_and_conjuncts(pipeline) -> None:  # type: ignore[no-untyped-def]
    # the object of a verb tagged as a noun hangs on it as an apposition
    assert _tuples(pipeline, "Saudi-led coalition invades Yemen with ground forces.") == {
        ("coalition", "invade", "yemen")
    }
    # a conjoined -s "noun" is a verb too, with the same subject
    got = _tuples(
        pipeline, "Mexican military chopper crosses the border, shoots at US Border agents"
    )
    assert got == {("chopper", "cross", "border"), ("chopper", "shoot", None)}


def test_verb_shifted_into_a_compound_of_its_object(pipeline) -> None:  # type: ignore[no-untyped-def]
    text = "British court orders release of U.S. intelligence details on torture allegations"
    events = _events(pipeline, text)
    assert [(e.subject.head, e.predicate.head, e.object.head) for e in events] == [
        ("court", "order", "release")
    ]
    assert events[0].object.text.startswith("release")  # the verb is not in its object
    got = _tuples(pipeline, "Saudi court sentences man to be paralyzed")
    assert got == {("court", "sentence", "man"), ("man", "paralyze", None)}
    # a plural noun seldom read as a verb stays a noun: "rights violator"
    assert _tuples(pipeline, "Canada worst human rights violator in world: Iran lawmaker") == set()
