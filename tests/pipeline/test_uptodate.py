"""What makes a job run again (helpers.pipeline.uptodate): here, the PDF's variant (issue 21)."""

from __future__ import annotations

import dataclasses

from helpers.pipeline import render, uptodate


def last_run(job, inputs, **changes) -> dict:
    """The run's row as list_runs gives it, its manifest made from ``inputs``."""
    manifest = {
        "notebook_sha256": inputs["notebook_sha256"],
        "parameters": inputs["parameters"],
        "data": {"fingerprint": inputs["data_fingerprint"]},
        "packages": inputs["packages"],
        "code_sha256": inputs["code_sha256"],
        "formats": list(inputs["formats"]),
        "pdf_variant": inputs["pdf_variant"],
        "quotations": {"checked": inputs["quotations_checked"]},
        "outputs": {},
        "created_at": "2026-12-06T10:00:00Z",
    }
    manifest.update(changes)
    return {"status": "ok", "manifest": {k: v for k, v in manifest.items() if v is not ...}}


def test_a_job_runs_again_when_its_pdf_variant_changed(tmp_path):
    [job] = render.prepare(["brief"], check_data=False, out_dir=tmp_path)
    inputs = uptodate.job_inputs(job, packages={}, code="0")
    assert inputs["pdf_variant"] == "pdf/ua-1"
    archival = dataclasses.replace(job, pdf_variant="pdf/a-3u")
    moved = uptodate.decide(
        archival, uptodate.job_inputs(archival, packages={}, code="0"), last_run(job, inputs)
    )
    assert (moved.run, moved.reason) == (True, "PDF variant changed")
    # A run made before there were variants made an untagged PDF: it is made again, tagged.
    old = uptodate.decide(job, inputs, last_run(job, inputs, pdf_variant=...))
    assert (old.run, old.reason) == (True, "PDF variant changed")
    # Dropping the PDF is a change of formats, said once.
    html = dataclasses.replace(job, formats=("html",))
    dropped = uptodate.decide(
        html, uptodate.job_inputs(html, packages={}, code="0"), last_run(job, inputs)
    )
    assert dropped.reason == "formats changed"
