"""brief proof's orchestration and command (helpers.proof.run, helpers.cli): usage errors
before anything renders, the folder it refuses, the plan it hands the batch runner, the
report and contact sheet it writes. No kernel starts here; tests/proof/test_proof_sample.py runs
the sample end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers import cli, paths
from helpers.errors import UsageError
from helpers.proof import grid
from helpers.proof.report import thumbnail, write_report
from helpers.proof.rules import Violation
from helpers.proof.run import MARKER, Checked, ProofRequest, ProofResult, make_plan, run_proof


def test_an_unknown_notebook_is_a_usage_error_before_anything_runs(tmp_path, capsys):
    code = cli.main(["proof", "--sample", "--out", str(tmp_path / "p"), "nope"])
    assert code == 2
    assert "unknown notebook 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_the_published_reports_folder_is_refused():
    with pytest.raises(UsageError, match="published editions"):
        run_proof(ProofRequest(sample=True, out_dir=paths.REPORTS_DIR))


def test_a_folder_holding_something_else_is_refused_and_left_as_it_was(tmp_path, capsys):
    (tmp_path / "brief").mkdir()
    (tmp_path / "brief" / "keep.pdf").write_text("a published brief")
    code = cli.main(["proof", "--sample", "--out", str(tmp_path)])
    assert code == 2
    assert "not a proof folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief"]
    assert not (tmp_path / MARKER).exists()


def test_a_bad_worker_count_is_a_usage_error(tmp_path):
    assert cli.main(["proof", "--sample", "--workers", "0", "--out", str(tmp_path)]) == 2


def test_the_plan_holds_one_job_per_point_with_dates_as_text():
    points = grid.sample()
    plan = make_plan(points)
    assert len(plan.entries) == len(points)
    first_dated = next(e for e in plan.entries if "as_of" in e["parameters"][0])
    assert first_dated["parameters"][0]["as_of"] == dt.date(2023, 9, 30).isoformat()
    assert plan.formats == ("html", "pdf")


def _pdf(path):
    from weasyprint import HTML

    HTML(string="<h1>Myanmar's junta and Russia</h1><p>Bottom line.</p>").write_pdf(path)
    return path


def test_the_report_lists_violations_by_rule_and_shows_every_first_page(tmp_path):
    clean = Checked(grid.Point.of("brief", {"partner": "India"}), pdf=_pdf(tmp_path / "a.pdf"))
    dirty = Checked(
        grid.Point.of("defence", {"partner": "China"}),
        pdf=_pdf(tmp_path / "b.pdf"),
        violations=[
            Violation("agreement", "defence partner=China", "none of the two events", "say x", 2)
        ],
    )
    result = ProofResult(
        out_dir=tmp_path,
        report=tmp_path / "proof.html",
        grid_size=1260,
        distinct=400,
        briefs=[clean, dirty],
        render_seconds=1,
        check_seconds=1,
    )
    html = write_report(result).read_text()
    assert html.count("data:image/png;base64,") == 2
    assert "none of the two events" in html and "defence partner=China" in html
    assert result.exit_code == 1
    assert result.summary().startswith("proof: 2 briefs, 1 violations (agreement 1)")
    assert thumbnail(tmp_path / "a.pdf")[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_links_each_brief_and_each_thumbnail_to_its_run(tmp_path):
    run = tmp_path / "defence" / "partner-china-abc"
    run.mkdir(parents=True)
    (run / "defence.html").write_text("<html></html>")
    brief = Checked(
        grid.Point.of("defence", {"partner": "China"}),
        run_dir=run,
        pdf=_pdf(run / "defence.pdf"),
        violations=[Violation("quotes", "defence partner=China", "'x'", "straight", 1)],
    )
    result = ProofResult(tmp_path, tmp_path / "proof.html", 1, 1, [brief], 1, 1)
    html = write_report(result).read_text()
    assert "href='defence/partner-china-abc/defence.html'" in html
    assert "href='defence/partner-china-abc/defence.pdf'" in html
