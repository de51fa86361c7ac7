"""``index.html``: one page listing every run of an output folder, by series, newest first.

Rewritten after each job of ``brief render`` and ``brief batch``, from what the output folder
holds (:func:`helpers.pipeline.publish.list_runs`), grouped by series (each edition with how
many facts are new or changed since the one before): each run's status, time view,
parameters, duration and links to its files, or to its failed attempt and error. The page is
self-contained and every value in it is escaped.
"""

from __future__ import annotations

import functools
import json
import stat
from pathlib import Path
from typing import Any

from helpers.common import utc_now
from helpers.errors import RenderError
from helpers.ledger import EditionSummary, counts_words
from helpers.pipeline.manifest import files_match, sha256_file
from helpers.pipeline.publish import list_runs, write_atomic
from helpers.pipeline.series import edition_date, series_key, series_parameters
from helpers.text import reader_text

#: The index's file name in the output folder.
INDEX_NAME = "index.html"
#: The index's Content-Security-Policy, as strict as a brief's: no script, frame, form, font
#: or request to any host, inline styles only. Its links to the runs are navigation, which
#: this allows; a value that slipped past escaping could run or load nothing.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

__all__ = ["CSP", "INDEX_NAME", "listed_runs", "stopped_batch", "update_index", "write_index"]

_INDEX_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>Myanmar briefs: every run</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
         color: #1a1a1a; }
  h1 { font-size: 1.4rem; }
  table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
  th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #ddd;
           vertical-align: top; }
  th { background: #f2f2f2; }
  .ok { color: #1b7837; font-weight: 600; }
  .failed { color: #b2182b; font-weight: 600; }
  code { font-size: 0.85rem; }
  .error { color: #b2182b; font-size: 0.8rem; white-space: pre-wrap; }
  ul { margin: 0; padding-left: 1rem; }
  .stopped { border: 2px solid #b2182b; padding: 0 0.8rem; margin-bottom: 1rem; }
  /* Accessibility (issue 21): a visible focus for keyboard readers. */
  a:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; }
  tr.series-head th { background: #fff; border-bottom: 2px solid #1a1a1a;
                      padding-top: 1.2rem; font-size: 0.95rem; }
</style>
</head>
<body>
<main>
<h1>Myanmar briefs: every run</h1>
{% if stopped %}<div class="stopped" role="alert"><p><strong>The last batch stopped</strong>
({{ stopped.plan }}, {{ stopped.when }}, exit {{ stopped.exit_code }}): {{ stopped.why }}</p>
{% if stopped.not_run %}<p>{{ stopped.not_run|length }} job(s) it was to run did not run:
{{- " " }}{% for label in stopped.not_run %}<code>{{ label }}</code>
{%- if not loop.last %}, {% endif %}{% endfor %}.</p>{% endif %}</div>
{% endif %}
<p>{{ rows|length }} run(s) in {{ groups|length }} series; the series last run first, each
with its editions, latest first. Updated {{ updated }}.
{%- if feed %} New editions: <a href="{{ feed }}">Atom feed</a>.{% endif %}</p>
<table>
<thead><tr><th>Notebook</th><th>Run</th><th>Status</th><th>Time view</th>
<th>Since the edition before</th><th>Parameters</th>
<th>Duration</th><th>When (UTC)</th><th>Files</th></tr></thead>
{% for group in groups %}
<tbody class="series">
<tr class="series-head"><th colspan="9">{{ group.title }} · {{ group.rows|length }} edition
{%- if group.rows|length != 1 %}s{% endif %}</th></tr>
{% for row in group.rows %}
<tr>
  <td>{{ row.notebook }}</td>
  <td><code>{{ row.run }}</code></td>
  <td class="{{ row.status }}">{{ row.status }}
    {%- if row.unchecked %}<div class="error">quotations not checked</div>{% endif %}</td>
  <td>{{ row.as_of }}</td>
  <td>{{ row.changes }}</td>
  <td>{% if row.overrides %}<ul>{% for name, value in row.overrides %}
    <li><code>{{ name }}</code> = {{ value }}</li>{% endfor %}</ul>
    {%- else %}defaults{% endif %}</td>
  <td>{{ row.duration }}</td>
  <td>{{ row.when }}</td>
  <td>{% for label, href in row.links %}<a href="{{ href }}">{{ label }}</a>{% if not loop.last %}
    · {% endif %}{% endfor %}
    {% if row.error %}<div class="error">{{ row.error }}</div>{% endif %}</td>
</tr>
{% endfor %}
</tbody>
{% endfor %}
</table>
</main>
</body>
</html>
"""

_LINK_LABELS = (
    ("html", "HTML"),
    ("pdf", "PDF"),
    ("ipynb", "notebook"),
    ("manifest", "manifest"),
    ("failed_ipynb", "failed notebook"),
    ("error", "error"),
)


def _intact(out_dir: Path, row: dict[str, Any]) -> bool:
    """Whether a published run's files are the ones its manifest lists (a failed attempt has
    no files to check). A ``manifest.json`` copied or planted into the output folder, with
    no files or other files beside it, is not a run the index lists."""
    if row["status"] != "ok":
        return True
    folder = Path(out_dir) / row["notebook"] / row["run"]
    return files_match(folder, row["manifest"], digest=_cached_sha256)


def _cached_sha256(path: Path) -> str:
    info = path.stat()
    return _sha256(str(path), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's sha256, computed once per size and modification time: the index is written
    after every job of a batch, and the runs it lists do not change between jobs."""
    return sha256_file(Path(path))


def _changes(manifest: dict[str, Any] | None) -> str:
    """'first edition', '4 new, 1 changed, 0 no longer shown', 'nothing new', or ''."""
    summary = EditionSummary.from_json((manifest or {}).get("edition"))
    since, changes = summary.previous, summary.changes
    if summary.first:
        return "first edition"
    if since is None or not changes:
        return ""
    also = summary.made_from_changed or ()
    if not any(changes.values()) and not also:
        return f"nothing new since {since.get('date', '?')}"
    words = counts_words(changes, sources="if any")
    if also:
        words += "; also changed: " + ", ".join(str(a) for a in also)
    return f"{words} (since {since.get('date', '?')})"


def _groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs by series (:mod:`helpers.pipeline.series`): the series whose latest run is
    newest first; in each, the editions by the day they end, latest first."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in rows:
        source = (raw["failure"] if raw["status"] == "failed" else raw["manifest"]) or {}
        parameters = source.get("parameters") or {}
        key = (raw["notebook"], series_key(raw["notebook"], parameters))
        group = groups.setdefault(
            key, {"title": _series_title(raw["notebook"], source), "rows": [], "when": ""}
        )
        group["rows"].append((edition_date(parameters), raw["when"], _index_row(raw)))
        group["when"] = max(group["when"], raw["when"])
    ordered = sorted(groups.values(), key=lambda g: g["when"], reverse=True)
    return [
        {
            "title": g["title"],
            "rows": [r for *_, r in sorted(g["rows"], reverse=True, key=lambda t: t[:2])],
        }
        for g in ordered
    ]


def _series_title(notebook: str, source: dict[str, Any]) -> str:
    """'brief: partner = China', or 'brief: defaults', naming a series by what sets it apart."""
    overrides = series_parameters(source.get("overrides") or {})
    if not overrides:
        return f"{notebook}: defaults"
    return f"{notebook}: " + ", ".join(
        f"{k} = {reader_text(v, missing='None')}" for k, v in sorted(overrides.items())
    )


def _index_row(row: dict[str, Any]) -> dict[str, Any]:
    source = row["failure"] if row["status"] == "failed" else row["manifest"]
    source = source or {}
    parameters = source.get("parameters", {})
    overrides = source.get("overrides", {})
    seconds = (row["manifest"] or {}).get("timings", {}).get("total")
    if row["status"] == "failed":
        seconds = (row["failure"] or {}).get("seconds")
    error = (row["failure"] or {}).get("error", "") if row["status"] == "failed" else ""
    return {
        "notebook": row["notebook"],
        "run": row["run"],
        "status": row["status"],
        "as_of": _time_view(parameters),
        "overrides": [(k, reader_text(v, missing="None")) for k, v in sorted(overrides.items())],
        "duration": f"{seconds:.1f} s" if isinstance(seconds, int | float) else "",
        "when": row["when"],
        "links": [(label, row["href"][key]) for key, label in _LINK_LABELS if key in row["href"]],
        "error": error,
        "changes": _changes(row["manifest"]) if row["status"] == "ok" else "",
        # A run made without a source text says so, here as in the brief's source note.
        "unchecked": row["status"] == "ok" and _unchecked(row["manifest"]),
    }


def _unchecked(manifest: dict[str, Any] | None) -> bool:
    quotations = (manifest or {}).get("quotations")
    return isinstance(quotations, dict) and quotations.get("checked") is False


def _time_view(parameters: dict[str, Any]) -> str:
    """'known by 2024-03-02', or 'events 2023-01-01 to 2023-09-30, known by 2024-03-02
    (hindsight)': which question about time the run answers (see helpers.selection)."""
    as_of = parameters.get("as_of") or ""
    start, end = parameters.get("start"), parameters.get("end")
    if not as_of or (not start and (not end or end == as_of)):
        return f"known by {as_of}" if as_of else ""
    events = f"events {start} to {end or as_of}" if start else f"events to {end}"
    hindsight = " (hindsight)" if end and end < as_of else ""
    return f"{events}, known by {as_of}{hindsight}"


#: The folder of batch logs and results under the output folder (``helpers.batch.runner``).
LOGS_NAME = "_logs"
#: A batch's results file larger than this is not read for the index.
RECORD_MAX_BYTES = 4 * 1024 * 1024


def stopped_batch(out_dir: Path) -> dict[str, Any] | None:
    """The newest batch's stop, if it stopped before every job ran (a cluster that refused
    it, no worker, Ctrl-C): ``{"plan", "when", "exit_code", "why", "not_run"}``, from its
    ``_logs/batch-<stamp>.json``; None if the newest batch finished, or there is none."""
    folder = Path(out_dir) / LOGS_NAME
    try:
        records = [
            (entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, entry)
            for entry in folder.iterdir()
            if entry.name.startswith("batch-") and entry.name.endswith(".json")
        ]
    except OSError:
        return None
    if not records:
        return None
    *_, newest = max(records)
    try:
        info = newest.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > RECORD_MAX_BYTES:
            return None
        record = json.loads(newest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not record.get("stopped"):
        return None
    jobs = record.get("jobs") if isinstance(record.get("jobs"), list) else []
    return {
        "plan": str(record.get("plan", "")),
        "when": str(record.get("finished_at", "")),
        "exit_code": record.get("exit_code"),
        "why": str(record["stopped"]),
        "not_run": [
            f"{job.get('notebook')}/{job.get('run')}"
            for job in jobs
            if isinstance(job, dict) and job.get("status") == "not run"
        ],
    }


def listed_runs(out_dir: Path) -> list[dict[str, Any]]:
    """The runs the index lists (:func:`~.publish.list_runs` whose files match their
    manifest), newest first: the feeds list the same."""
    return [row for row in list_runs(out_dir) if _intact(Path(out_dir), row)]


def write_index(out_dir: Path) -> Path:
    """Write ``<out_dir>/index.html`` listing every run, newest first, atomically.

    The page is self-contained (inline CSS, no scripts, no network) and every value is
    HTML-escaped. Links are relative, so the folder can be moved or served as it is.

    Returns
    -------
    Path
        The index file.
    """
    from jinja2 import Environment  # noqa: PLC0415

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = Environment(autoescape=True).from_string(_INDEX_TEMPLATE)
    rows = [row for row in list_runs(out_dir) if _intact(out_dir, row)]
    # The folder's Atom feed (helpers.pipeline.feeds), linked once it is there.
    feed = "feed.xml" if (out_dir / "feed.xml").is_file() else None
    html = template.render(
        rows=rows,
        groups=_groups(rows),
        updated=utc_now(millis=False),
        stopped=stopped_batch(out_dir),
        feed=feed,
        csp=CSP,
    )
    return write_atomic(out_dir / INDEX_NAME, html)


def update_index(out_dir: Path) -> RenderError | None:
    """Rewrite the index after a job; return the failure instead of raising it.

    The job itself is published or archived by then: a stale index is no reason to stop the
    next job, nor to hide how the jobs went, so each caller reports it in its own way.
    """
    try:
        write_index(out_dir)
    except OSError as exc:
        error = RenderError(f"could not write {Path(out_dir) / INDEX_NAME}: {exc}")
        error.__cause__ = exc
        return error
    return None
