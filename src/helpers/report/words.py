"""The narrative's vocabulary: its templates, the words shared by every section, and the
phrases for one row (who says it, when, an actor's name).

Every other narrative module words its facts with these; :func:`render` turns a small dict of
facts into HTML through ``templates/narrative/`` (Jinja, autoescaped).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from helpers import paths
from helpers.report import formatting as fmt
from helpers.report.selection import Selection
from helpers.report.sourcing import KIND_WORDS

#: Most notes one sentence cites for rows that state the same thing; the rest are counted
#: ("+12 alike"), so a brief stays as long on a large dataset as on a small one.
CITE_LIMIT = 3


#: Section headings by theme.
THEME_TITLES = {
    "defence": "Defence cooperation",
    "energy": "Energy and infrastructure projects",
    "economy": "Economic ties: trade, currencies and oil",
    "regional": "Regional implications",
}


#: What a theme is about, in running text.
THEME_TOPICS = {
    "defence": "defence cooperation",
    "energy": "energy or infrastructure projects",
    "economy": "trade, currencies or oil",
    "regional": "the region",
}


STATUS_WORDS = {
    "under_discussion": "under discussion",
    "agreed": "agreed",
    "under_construction": "under construction",
    "developed": "developed",
}


#: How the brief introduces an assessment of each kind: the source's view, attributed.
ATTRIBUTION_VERBS = {"implication": "argues"}


@cache
def environment() -> Environment:
    """The Jinja environment for narrative templates (autoescaped, strict about names)."""
    env = Environment(
        loader=FileSystemLoader(paths.TEMPLATES_DIR / "narrative"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["capitalize_first"] = fmt.sentence_case
    return env


def compile_templates() -> int:
    """Compile every narrative template into :func:`environment`'s cache; how many.

    A warm kernel's zygote calls it before forking (:mod:`helpers.kernels.zygote`), so no
    brief compiles them again; a template edited since is compiled anew when next used, as
    Jinja checks each template's file before it reuses a compiled one.
    """
    env = environment()
    names = env.list_templates(extensions=["j2"])
    for name in names:
        env.get_template(name)
    return len(names)


def render(template: str, **facts) -> Markup:
    """Render ``templates/narrative/<template>.html.j2`` with ``facts``."""
    return Markup(environment().get_template(f"{template}.html.j2").render(**facts).strip())


def actor_names(selection: Selection) -> dict[str, str]:
    return selection.dataset.actor_names()


def actor_name(selection: Selection, actor_id) -> str:
    if actor_id is None or pd.isna(actor_id):
        return ""
    return actor_names(selection).get(str(actor_id), str(actor_id))


def text_of(value) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def truthy(value) -> bool:
    return False if value is None or pd.isna(value) else bool(value)


def latest_published(selection: Selection) -> pd.Timestamp | None:
    published = selection.sources["published"]
    return None if published.empty else published.max()


def reporter(selection: Selection, source_id: str | None = None) -> str:
    """Who says it: 'the report' when the brief knows one source, else that source's label."""
    if source_id is None or len(selection.sources) <= 1:
        kind = selection.sources["kind"].astype(str).iloc[0] if len(selection.sources) else ""
        return "the report" if kind in ("news_article", "report", "") else f"the {kind}"
    labels = selection.dataset.source_labels()
    return labels.get(source_id, source_id)


def says(selection: Selection, row: pd.Series | dict) -> str:
    """'The report says' / 'The report argues' for an assessment row, sentence-cased."""
    verb = ATTRIBUTION_VERBS.get(str(row["kind"]), "says")
    return fmt.sentence_case(f"{reporter(selection, str(row['source_id']))} {verb}")


def when(row: pd.Series | dict, selection: Selection) -> str:
    """The date phrase of an event or supply row, keeping its precision."""
    if truthy(row.get("date_unknown")):
        return "date unknown"
    return fmt.when(
        row["date_start"],
        row["date_end"],
        row["date_precision"],
        ongoing=truthy(row.get("ongoing", False)),
        known_by=latest_published(selection),
    )


def date_head(row: pd.Series | dict, selection: Selection) -> str:
    """An event list's date: 'October 2023', 'Since October 2023', 'Undated', 'Date unknown'."""
    if truthy(row.get("date_unknown")):
        return "Date unknown"
    if pd.isna(row["date_start"]):
        return "Undated"
    return fmt.sentence_case(when(row, selection))


def lower_first(text: str, names: Iterable[str] = ()) -> str:
    """'First maritime exercise' -> 'first maritime exercise', but keep names and acronyms."""
    first = text.split(" ", 1)[0]
    if not first or first[1:2].isupper() or any(n and text.startswith(n) for n in names):
        return text
    base = first.split("'", 1)[0].split("’", 1)[0]  # "Myanmar's" is a name too
    if base in ("India", "China", "Russia", "Myanmar", "Junta") or first[:1].isdigit():
        return text
    return text[:1].lower() + text[1:]


def kind_words(kind) -> str:
    return KIND_WORDS.get(str(kind), str(kind).replace("_", " "))
