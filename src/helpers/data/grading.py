"""The rule for how much confidence sources allow (ICD 203 with the Admiralty code), once.

The data layer refuses a judgment graded above what its sources allow
(:func:`helpers.data.validation.allowed_confidence`) and the brief prints the same level in its
source note (:func:`helpers.report.sourcing.assess`): both ask this module, so the two can
never disagree. High: three independent sources, one usually reliable (A, B) with information
confirmed or probably true (1, 2); moderate: two, one at least fairly reliable (A-C); low:
anything less, and always one source.
"""

from __future__ import annotations

from collections.abc import Mapping

#: ICD 203 confidence levels, lowest first.
CONFIDENCE_LEVELS = ("low", "moderate", "high")


def independent_sources(parents: Mapping[str, str | None]) -> int:
    """How many of the sources (source id -> the id it repeats, ``derived_from``) are
    independent: a source repeating another of them, directly or down a chain, adds
    nothing."""
    ids = set(parents)

    def root(source_id: str) -> str:
        seen = {source_id}
        while parents.get(source_id) in ids and parents[source_id] not in seen:
            source_id = str(parents[source_id])
            seen.add(source_id)
        return source_id

    return len({root(i) for i in ids})


def confidence_level(independent: int, best_reliability: str, best_credibility: str) -> str:
    """'high', 'moderate' or 'low': what ``independent`` sources allow, the best of them
    graded ``best_reliability`` (A-F) and ``best_credibility`` (1-6)."""
    if independent >= 3 and best_reliability in "AB" and best_credibility in "12":
        return "high"
    if independent >= 2 and best_reliability in "ABC":
        return "moderate"
    return "low"
