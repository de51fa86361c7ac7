"""Counts and agreement: the small grammar every generated sentence goes through.

A brief's sentences are built from counts that change with every parameter set: one event or
eleven, all of them dated or none. Each phrase here agrees with its count, so that no template
can write "none of the two events", "all two events", "all of them five events" or "them" of a
single port. Numbers below ten are words (AP style), as in :func:`helpers.report.formatting.count`.

>>> of_all(0, 2, "event")
'neither event'
>>> of_all(0, 5, "event")
'none of the five events'
>>> of_all(2, 2, "event")
'both events'
>>> of_all(5, 5, "event")
'all five events'
>>> of_all(1, 1, "event")
'the one event'
>>> of_all(3, 11, "event")
'three of the 11 events'
"""

from __future__ import annotations

from helpers.report.formatting import count, number_word

#: Irregular plurals of the nouns a brief counts.
PLURALS = {
    "supply": "supplies",
    "country": "countries",
    "analysis": "analyses",
    "is": "are",
    "was": "were",
    "has": "have",
    "it": "them",
    "its": "their",
    "this": "these",
    "that": "those",
    "goes": "go",
    "rests": "rest",
    "falls": "fall",
    "stays": "stay",
}


#: Words after which a noun phrase's head has come: 'tie between actors', 'judgment of ...'.
PREPOSITIONS = frozenset({"of", "between", "in", "to", "with", "on", "for"})


def plural(noun: str) -> str:
    """'event' -> 'events', 'supply' -> 'supplies', 'more event' -> 'more events',
    'tie between actors' -> 'ties between actors' (the nouns a brief counts)."""
    words = noun.split(" ")
    at = next((i for i, w in enumerate(words) if w in PREPOSITIONS), len(words)) - 1
    if at > 0 or len(words) > 1:
        head = plural(words[at]) if at >= 0 else words[0]
        return " ".join([*words[:at], head, *words[at + 1 :]])
    head, tail = noun, ""
    if head in PLURALS:
        word = PLURALS[head]
    elif head.endswith(("s", "x", "ch", "sh")):
        word = head + "es"
    elif head.endswith("y") and head[-2:-1] not in "aeiou":
        word = head[:-1] + "ies"
    else:
        word = head + "s"
    return f"{word} {tail}" if tail else word


def noun(n: int, singular: str) -> str:
    """The noun agreeing with ``n``: 'event' for one, 'events' otherwise."""
    return singular if n == 1 else plural(singular)


def counted(n: int, singular: str) -> str:
    """'one event', 'two events', '12 events', 'no events'."""
    return count(n, singular, plural(singular))


def agree(n: int, singular: str) -> str:
    """The word (verb or pronoun) agreeing with ``n``: ``agree(1, "is")`` -> 'is',
    ``agree(3, "it")`` -> 'them'."""
    return singular if n == 1 else PLURALS.get(singular, plural(singular))


def of_all(part: int, whole: int, singular: str) -> str:
    """How many of a set: 'neither event', 'none of the five events', 'the one event',
    'both events', 'all five events', 'one of the two events', 'three of the 11 events'."""
    if whole <= 0 or part < 0 or part > whole:
        raise ValueError(f"cannot say {part} of {whole}")
    if part == 0:
        if whole == 1:
            return f"not the one {singular}"
        if whole == 2:
            return f"neither {singular}"
        return f"none of the {counted(whole, singular)}"
    if part == whole:
        if whole == 1:
            return f"the one {singular}"
        if whole == 2:
            return f"both {plural(singular)}"
        return f"all {counted(whole, singular)}"
    return f"{number_word(part)} of the {counted(whole, singular)}"


def subject_of_all(part: int, whole: int, singular: str) -> tuple[str, int]:
    """:func:`of_all` as the subject of a sentence, with the count its verb agrees with
    ('none of the five events' takes a singular verb in careful English: 'none ... is')."""
    phrase = of_all(part, whole, singular)
    if part == 0:
        return phrase, 1
    return phrase, part


def listing(items: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (no Oxford comma)."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def kinds(counts: dict[str, int]) -> str:
    """'six events, five projects and three supplies': each kind with its count, in the
    order given, kinds with none left out."""
    return listing([counted(n, kind) for kind, n in counts.items() if n])
