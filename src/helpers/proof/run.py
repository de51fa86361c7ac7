"""Run the proof: render the grid (or the CI sample) and check every brief against the rules.

:func:`run_proof` is what ``brief proof`` calls. In order:

1. The points: the fixed sample (:func:`helpers.proof.grid.sample`), or the full grid pruned
   in-process, with no kernel (:func:`helpers.proof.grid.prune`); only the named notebooks.
2. Rendering: one batch plan holding every point, run by the batch runner
   (:func:`helpers.batch.runner.run_plan`) with warm kernels, into the proof's own folder
   (default ``reports/_proof/``, never the user's editions). A brief unchanged since the
   last proof is not rendered again (the batch runner's up-to-date check).
3. Reading: each brief's HTML, PDF and manifest (:class:`~helpers.proof.document.Document`),
   with what its parameters should give (:func:`helpers.proof.expect.expected`); every
   chart measured in one Chromium (:func:`helpers.proof.charts.measure`).
4. Checking: every rule (:data:`helpers.proof.rules.RULES`) on every brief.
5. The report (:func:`helpers.proof.report.write_report`): ``proof.html`` with the violations
   grouped by rule and a contact sheet of every first page, and ``proof.json``.

The exit code is 0 when every brief rendered and no rule found anything, else 1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers import paths
from helpers.batch.plan import Plan
from helpers.batch.runner import BatchRequest, run_plan
from helpers.common import DEFAULT_TIMEOUT
from helpers.data.dataset import load
from helpers.errors import UsageError
from helpers.params import SCHEMAS
from helpers.pipeline.progress import Reporter
from helpers.pipeline.publish import PROOF_MARK
from helpers.proof import charts, grid
from helpers.proof.document import Document
from helpers.proof.expect import expected
from helpers.proof.report import write_report
from helpers.proof.result import Checked, ProofResult
from helpers.proof.rules import RULES, check

#: The file that marks a folder as the proof's own: a folder without it that holds anything
#: is refused, so that a proof never writes among published editions.
MARKER = PROOF_MARK


@dataclass(frozen=True)
class ProofRequest:
    """One ``brief proof``.

    Attributes
    ----------
    notebooks
        The notebooks to prove (names in ``notebooks/``); empty for all three.
    sample
        The fixed CI sample (about 20 briefs) instead of the pruned grid.
    out_dir
        The proof's folder; default ``reports/_proof/``.
    workers
        Briefs rendered at once; default: the number of cores.
    every_signature
        Keep every distinct signature of the grid instead of the pairwise cover.
    measure_charts
        Measure the charts in Chromium for the chart rule (needs Playwright and Chromium).
    """

    notebooks: tuple[str, ...] = ()
    sample: bool = False
    out_dir: Path | None = None
    workers: int | None = None
    every_signature: bool = False
    measure_charts: bool = True


def points_for(
    request: ProofRequest, echo: Callable[[str], None] = lambda _: None
) -> tuple[list[grid.Point], int, int]:
    """The points to render for ``request``: ``(points, grid size, distinct)``; ``echo``
    receives the line saying how large the grid is before and after pruning."""
    notebooks = _check_notebooks(request.notebooks)
    if request.sample:
        points = [p for p in grid.sample() if p.notebook in notebooks]
        echo(f"sample: {len(points)} briefs")
        return points, len(points), len(points)
    full = grid.full_grid(notebooks)
    pruned = grid.prune(full, load(), pairwise=not request.every_signature)
    echo(
        f"grid: {pruned.full} briefs; {pruned.distinct} distinct on A4 (one per selection "
        f"signature); {pruned.kept} to render "
        f"({'every signature' if request.every_signature else 'pairwise cover'} on A4, "
        f"and a stratified subset on Letter)"
    )
    return list(pruned.points), pruned.full, pruned.distinct


def _check_notebooks(notebooks: Sequence[str]) -> tuple[str, ...]:
    unknown = [n for n in notebooks if n not in grid.NOTEBOOKS]
    if unknown:
        raise UsageError(
            f"unknown notebook {', '.join(map(repr, unknown))}; the proof knows: "
            + ", ".join(grid.NOTEBOOKS)
        )
    return tuple(notebooks) or grid.NOTEBOOKS


def proof_dir(out_dir: Path | None) -> Path:
    """The proof's folder, made and marked; a folder that holds anything but a proof is
    refused (:class:`UsageError`), as is the reports folder itself."""
    out = Path(out_dir) if out_dir is not None else paths.PROOF_DIR
    out = out.expanduser().resolve()
    if out == paths.REPORTS_DIR.resolve():
        raise UsageError(
            f"{out} holds the published editions; the proof renders into its own folder "
            f"(default {paths.PROOF_DIR})"
        )
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UsageError(
            f"{out} is not empty and is not a proof folder (no {MARKER}); give --out an "
            "empty or new folder, or a previous proof's"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("brief proof renders here\n", encoding="utf-8")
    return out


def make_plan(points: Sequence[grid.Point]) -> Plan:
    """One batch plan holding every point, in order."""
    return Plan(
        source="<proof>",
        base_dir=paths.NOTEBOOKS_DIR,
        defaults={},
        formats=("html", "pdf"),
        timeout=DEFAULT_TIMEOUT,
        entries=tuple(
            {"notebook": p.notebook, "parameters": [p.injectable()], "grid": None, "name": None}
            for p in points
        ),
    )


def run_proof(
    request: ProofRequest | None = None,
    *,
    reporter: Reporter | None = None,
    echo: Callable[[str], None] = lambda _: None,
) -> ProofResult:
    """Render and check; see the module's description.

    Raises
    ------
    UsageError
        An unknown notebook, or an output folder that is not the proof's.
    """
    request = request or ProofRequest()
    _check_notebooks(request.notebooks)
    out = proof_dir(request.out_dir)
    points, full, distinct = points_for(request, echo)
    started = time.monotonic()
    batch = run_plan(
        BatchRequest(plan=make_plan(points), workers=request.workers, out_dir=out),
        reporter=reporter,
    )
    rendered = time.monotonic()
    dataset = load()
    briefs: list[Checked] = []
    docs: list[tuple[Checked, Document]] = []
    for point, outcome in zip(points, batch.outcomes, strict=True):
        job = outcome.job.job
        run_dir = job.out_dir / job.name / job.run
        checked = Checked(point, run_dir)
        briefs.append(checked)
        if outcome.status == "failed":
            result = outcome.result
            checked.error = (result.error if result else None) or "failed"
            continue
        params = SCHEMAS[point.notebook].model_validate(point.parameters)
        doc = Document.from_run(run_dir, brief_id=point.label, expected=expected(dataset, params))
        checked.pdf = doc.pdf_path
        docs.append((checked, doc))
    notes = []
    if request.measure_charts:
        why = charts.available()
        if why:
            notes.append(f"chart labels not checked: {why}")
        else:
            charts.measure(c for _, doc in docs for c in doc.charts)
    else:
        notes.append("chart labels not checked (charts not measured)")
    for checked, doc in docs:
        checked.violations = check(doc)
    result = ProofResult(
        out_dir=out,
        report=out / "proof.html",
        grid_size=full,
        distinct=distinct,
        briefs=briefs,
        render_seconds=rendered - started,
        check_seconds=time.monotonic() - rendered,
        notes=notes,
    )
    write_report(result)
    _write_json(result)
    return result


def _write_json(result: ProofResult) -> None:
    """``proof.json``: every brief with its parameters, run folder, error and violations."""
    (result.out_dir / "proof.json").write_text(
        json.dumps(
            {
                "grid": result.grid_size,
                "distinct": result.distinct,
                "briefs": [
                    {
                        "brief": b.point.label,
                        "notebook": b.point.notebook,
                        "parameters": b.point.injectable(),
                        "run": str(b.run_dir),
                        "error": b.error,
                        "violations": [v.as_json() for v in b.violations],
                    }
                    for b in result.briefs
                ],
                "rules": list(RULES),
                "notes": result.notes,
            },
            indent=1,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
