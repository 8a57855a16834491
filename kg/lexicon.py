"""Word lists of the event extractor's rules (kg.extract), kept apart from the rules."""

from __future__ import annotations

__all__ = [
    "NEG_WORDS",
    "RELATIVE",
    "NOT_NOMINAL",
    "COMPLEMENT_PREPS",
    "REPORTING",
    "PASSIVE_PREPS",
    "CURRENCY",
    "CONTROL",
]

NEG_WORDS = {"not", "n't", "never", "no"}
RELATIVE = {"that", "which", "who", "whom"}
# Parts of speech that cannot be a subject or object, whatever the parse says.
NOT_NOMINAL = {"ADP", "ADV", "SCONJ", "CCONJ", "PART", "PUNCT", "INTJ", "AUX", "SPACE"}
# Prepositions that complete a verb's meaning ("call for", "go to", "comply with"); the
# others (in, at, on time, over, after, during, by, as, like, ...) give place, time or cause.
COMPLEMENT_PREPS = {
    "to",
    "toward",
    "towards",
    "with",
    "for",
    "of",
    "into",
    "onto",
    "on",
    "from",
    "against",
    "about",
    "upon",
}
REPORTING = {
    "say",
    "tell",
    "state",
    "warn",
    "claim",
    "admit",
    "report",
    "forecast",
    "reveal",
    "announce",
    "insist",
    "deny",
    "confirm",
    "suggest",
    "believe",
    "think",
    "fear",
    "argue",
    "conclude",
    "find",
    "show",
    "predict",
    "allege",
    "acknowledge",
}
# A passive's prepositional phrase is its object only for these ("sent to", "indicted on");
# "hit with", "planned for", "accused of" give an instrument, purpose or charge.
PASSIVE_PREPS = {"to", "toward", "towards", "into", "onto", "on", "from", "against"}
CURRENCY = {"$", "£", "€", "¥"}
# Verbs whose object is the subject of their infinitive ("asks government to pay").
CONTROL = {
    "ask",
    "tell",
    "urge",
    "force",
    "order",
    "allow",
    "permit",
    "persuade",
    "invite",
    "encourage",
    "require",
    "help",
    "let",
    "make",
    "say",
    "want",
    "expect",
}
