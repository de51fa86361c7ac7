"""The proof's report: ``proof.html``, the violations grouped by rule (each with its brief's
parameters, page and sentence), then a contact sheet of every brief's first page.

The thumbnails are poppler's (``pdftoppm -png -r 30 -f 1 -l 1``), embedded in the page as
data URIs, so the report is one self-contained file.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from helpers.proof.rules import RULES

if TYPE_CHECKING:
    from helpers.proof.result import ProofResult

_STYLE = """
body { font: 14px/1.45 "Noto Sans", "DejaVu Sans", sans-serif; margin: 2em; color: #1d2733; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #d5dae0; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #e4e8ec;
padding: .35em .5em; text-align: left; vertical-align: top; } th { background: #f4f6f8; }
.brief { font-family: monospace; font-size: .85em; white-space: nowrap; }
.ok { color: #1a7f37; } .bad { color: #b42318; }
.sheet { display: flex; flex-wrap: wrap; gap: 12px; } .sheet figure { margin: 0; width: 190px; }
.sheet img { border: 1px solid #c8cfd6; display: block; max-width: 190px; }
.sheet figcaption { font-size: 11px; word-break: break-word; }
.count { font-weight: normal; color: #59636e; }
"""


def thumbnail(pdf: Path) -> bytes | None:
    """The first page of a PDF as a PNG at 30 dpi (poppler's pdftoppm); None without it."""
    tool = shutil.which("pdftoppm")
    if tool is None or not pdf.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "page"
        subprocess.run(
            [tool, "-png", "-r", "30", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
            check=True,
            capture_output=True,
        )
        return prefix.with_suffix(".png").read_bytes()


def _link(result: ProofResult, path: Path | None, label: str) -> Markup:
    """``label`` linking to ``path`` relative to the report (as is when it is elsewhere)."""
    if path is None:
        return Markup("{}").format(label)
    try:
        href = path.relative_to(result.report.parent).as_posix()
    except ValueError:
        href = path.as_uri()
    return Markup("<a href='{}'>{}</a>").format(href, label)


def _html_of(run_dir: Path | None) -> Path | None:
    if run_dir is None:
        return None
    found = sorted(run_dir.glob("*.html"))
    return found[0] if found else run_dir


def _rows(result: ProofResult, rule: str) -> Markup:
    rows = []
    for brief in result.briefs:
        for v in brief.violations:
            if v.rule != rule:
                continue
            rows.append(
                Markup(
                    "<tr><td class='brief'>{brief}</td><td>{page}</td><td>{part}</td>"
                    "<td>{text}</td><td>{why}</td></tr>"
                ).format(
                    brief=_link(result, _html_of(brief.run_dir), v.brief),
                    page=v.page if v.page is not None else "",
                    part=v.part,
                    text=v.text,
                    why=v.why,
                )
            )
    return Markup("\n").join(rows)


def _contact_sheet(result: ProofResult) -> Markup:
    """Every brief's first page as a thumbnail linking to its PDF, marked clean or not."""
    parts = []
    parts.append(Markup("<h2 id='contact-sheet'>Contact sheet: every first page</h2>"))
    figures = []
    for brief in result.briefs:
        png = thumbnail(brief.pdf) if brief.pdf else None
        image = (
            _link(
                result,
                brief.pdf,
                Markup("<img alt='First page of {}' src='data:image/png;base64,{}'>").format(
                    brief.point.label, base64.b64encode(png).decode("ascii")
                ),
            )
            if png
            else Markup("<p class='bad'>no PDF</p>")
        )
        mark = (
            Markup("<span class='bad'>{} violations</span>").format(len(brief.violations))
            if brief.violations or brief.error
            else Markup("<span class='ok'>clean</span>")
        )
        figures.append(
            Markup("<figure>{}<figcaption>{} · {}</figcaption></figure>").format(
                image, brief.point.label, mark
            )
        )
    parts.append(Markup("<div class='sheet'>{}</div>").format(Markup("\n").join(figures)))
    return Markup("\n").join(parts)


def write_report(result: ProofResult) -> Path:
    """Write ``proof.html`` into the proof's folder; return its path."""
    parts = [
        Markup("<h1>Proof of the briefs</h1>"),
        Markup(
            "<p>{n} briefs checked against {r} rules (full grid {g} briefs, {d} distinct); "
            "rendered in {rs:.0f} s, checked in {cs:.0f} s. "
            "<strong class='{css}'>{found}</strong></p>"
        ).format(
            n=len(result.briefs),
            r=len(RULES),
            g=result.grid_size,
            d=result.distinct,
            rs=result.render_seconds,
            cs=result.check_seconds,
            css="bad" if result.exit_code else "ok",
            found=f"{len(result.violations)} violations, {len(result.failed)} failed"
            if result.exit_code
            else "No violations.",
        ),
    ]
    for note in result.notes:
        parts.append(Markup("<p class='bad'>{}</p>").format(note))
    if result.failed:
        parts.append(Markup("<h2>Briefs that did not render</h2><ul>"))
        for brief in result.failed:
            parts.append(
                Markup("<li><span class='brief'>{}</span>: {}</li>").format(
                    brief.point.label, (brief.error or "").strip().splitlines()[0:1]
                )
            )
        parts.append(Markup("</ul>"))
    for rule in RULES:
        count = sum(1 for v in result.violations if v.rule == rule)
        briefs = len({v.brief for v in result.violations if v.rule == rule})
        parts.append(
            Markup("<h2 id='{id}'>{rule} <span class='count'>{count}</span></h2>").format(
                id=rule.replace(" ", "-"),
                rule=rule,
                count=f"{count} in {briefs} briefs" if count else "none",
            )
        )
        parts.append(Markup("<p>{}</p>").format((RULES[rule].__doc__ or "").strip()))
        if count:
            parts.append(
                Markup(
                    "<table><thead><tr><th>Brief</th><th>Page</th><th>Part</th><th>Sentence or "
                    "element</th><th>Why</th></tr></thead><tbody>{}</tbody></table>"
                ).format(_rows(result, rule))
            )
    parts.append(_contact_sheet(result))
    html = Markup(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Proof of the briefs</title><style>{style}</style></head><body>{body}</body>"
        "</html>"
    ).format(style=Markup(_STYLE), body=Markup("\n").join(parts))
    result.report.write_text(str(html), encoding="utf-8")
    return result.report
