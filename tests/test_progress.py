"""Progress: live on a terminal, timestamped lines in logs, failures only with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from helpers.pipeline import progress

STAMP = "2026-11-29T10:00:00Z"


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def events(reporter: progress.Reporter) -> None:
    with reporter:
        reporter.start([("brief", "default", progress.PHASES)])
        reporter.phase("brief", "default", "execute")
        reporter.phase("brief", "default", "html")
        reporter.done("brief", "default", seconds=12.34, path=Path("reports/brief/default"))
        reporter.phase("defence", "default", "execute")
        reporter.failed("defence", "default", phase="execute", error="cell 4 raised KeyError")
        reporter.message("index: reports/index.html")


def test_plain_reporter_writes_one_timestamped_line_per_event():
    out, err = io.StringIO(), io.StringIO()
    events(progress.PlainReporter(out, err, clock=lambda: STAMP))
    assert out.getvalue().splitlines() == [
        f"{STAMP} brief/default execute",
        f"{STAMP} brief/default html",
        f"{STAMP} brief/default done 12.3s reports/brief/default",
        f"{STAMP} defence/default execute",
        f"{STAMP} index: reports/index.html",
    ]
    assert err.getvalue() == (
        f"{STAMP} defence/default FAILED in execute: cell 4 raised KeyError\n"
    )


def test_plain_reporter_stamps_lines_with_utc_time_by_default():
    out = io.StringIO()
    progress.PlainReporter(out).phase("brief", "default", "pdf")
    stamp, rest = out.getvalue().split(" ", 1)
    assert len(stamp) == len(STAMP) and stamp.endswith("Z") and "T" in stamp
    assert rest == "brief/default pdf\n"


def test_quiet_reporter_prints_only_failures():
    out, err = io.StringIO(), io.StringIO()
    events(progress.QuietReporter(out, err, clock=lambda: STAMP))
    assert out.getvalue() == ""
    assert "defence/default FAILED in execute: cell 4 raised KeyError" in err.getvalue()
    assert "brief" not in err.getvalue()


def test_base_reporter_is_silent(capsys):
    events(progress.Reporter())
    assert capsys.readouterr() == ("", "")


def test_rich_reporter_shows_each_notebook_its_phase_and_failures():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    events(progress.RichReporter(console))
    text = buffer.getvalue()
    assert "brief/default" in text
    assert "done 12.3s" in text
    assert "defence/default" in text
    assert "failed in execute" in text
    assert "cell 4 raised KeyError" in text


def test_rich_reporter_prints_markup_in_errors_literally():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    with progress.RichReporter(console) as reporter:
        reporter.failed("brief", "default", phase="pdf", error="[bold]not markup[/bold]")
    assert "[bold]not markup[/bold]" in buffer.getvalue()


def test_make_reporter_is_live_on_a_terminal_and_plain_otherwise():
    assert type(progress.make_reporter(out=TTY())) is progress.RichReporter
    assert type(progress.make_reporter(out=io.StringIO())) is progress.PlainReporter
    assert type(progress.make_reporter(quiet=True, out=TTY())) is progress.QuietReporter
