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


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def terminal(height: int = 12) -> tuple[io.StringIO, Console]:
    buffer = io.StringIO()
    # get_time stops the spinners on their first frame.
    console = Console(
        file=buffer,
        force_terminal=True,
        width=80,
        height=height,
        color_system=None,
        get_time=lambda: 0.0,
    )
    return buffer, console


def screen(console: Console, reporter: progress.RichReporter) -> list[str]:
    """The live area as rich's Live renders it now, a string per line, runs of spaces as one."""
    lines = console.render_lines(reporter, console.options, pad=False)
    return [" ".join("".join(segment.text for segment in line).split()) for line in lines]


def forty_jobs() -> list[tuple[str, str, tuple[str, ...]]]:
    return [("brief", f"run-{i:02d}", progress.PHASES) for i in range(40)]


def test_rich_reporter_keeps_every_running_job_in_view_on_a_short_terminal():
    buffer, console = terminal(height=12)
    clock = Clock()
    with progress.RichReporter(console, clock=clock) as reporter:
        reporter.start(forty_jobs())
        for i in range(10):
            reporter.done("brief", f"run-{i:02d}", seconds=10.0)
        # The running jobs come late in the list: shown in order, they would not fit.
        for i in (30, 31, 32, 33):
            reporter.phase("brief", f"run-{i}", "execute")
        clock.now += 7
        reporter.phase("brief", "run-32", "pdf")
        clock.now += 2
        lines = screen(console, reporter)
    assert len(lines) == 12
    # 26 waiting on 4 workers, each with 1 s of a 10 s job to go: 1 + 7 x 10 seconds.
    assert lines[0].endswith("10 done · 0 failed · 40 jobs · elapsed 0:00:09 · left ~0:01:11")
    assert lines[1:5] == [
        "⠋ brief/run-30 execute 1/4 0:00:09",
        "⠋ brief/run-31 execute 1/4 0:00:09",
        "⠋ brief/run-32 pdf 3/4 0:00:02",
        "⠋ brief/run-33 execute 1/4 0:00:09",
    ]
    assert lines[5:11] == [f"· brief/run-{i} waiting" for i in range(10, 16)]
    assert lines[11] == "... and 20 more waiting"
    assert "brief/run-33 execute 1/4" in buffer.getvalue()  # the Live drew it on the terminal


def test_rich_reporter_counts_jobs_and_estimates_time_left_from_finished_jobs_and_workers():
    _, console = terminal(height=12)
    clock = Clock()
    with progress.RichReporter(console, clock=clock) as reporter:
        reporter.start(forty_jobs())
        reporter.phase("brief", "run-00", "execute")
        reporter.phase("brief", "run-01", "execute")
        clock.now += 5
        assert screen(console, reporter)[0].endswith(
            "0 done · 0 failed · 40 jobs · elapsed 0:00:05 · left estimating..."
        )
        clock.now += 5
        reporter.done("brief", "run-00", seconds=10.0)
        reporter.done("brief", "run-01", seconds=10.0)
        # None running for a moment: the two workers seen at once still count.
        assert screen(console, reporter)[0].endswith("left ~0:03:10")  # 38 x 10 s on 2
        reporter.phase("brief", "run-02", "execute")
        reporter.phase("brief", "run-03", "execute")
        clock.now += 10
        reporter.done("brief", "run-02", seconds=10.0)
        reporter.done("brief", "run-03", seconds=10.0)
        reporter.failed("brief", "run-04", phase="execute", error="bad parameter")
        reporter.phase("brief", "run-05", "execute")
        reporter.phase("brief", "run-06", "execute")
        clock.now += 4
        header = screen(console, reporter)[0]
    # 33 waiting and 2 running (6 s of 10 to go) on 2 workers: 6 + 17 x 10 seconds.
    assert header.endswith("4 done · 1 failed · 40 jobs · elapsed 0:00:24 · left ~0:02:56")


def test_rich_reporter_prints_each_finished_job_once_above_the_live_area():
    buffer, console = terminal(height=12)
    clock = Clock()
    with progress.RichReporter(console, clock=clock) as reporter:
        reporter.start(forty_jobs()[:4])
        reporter.phase("brief", "run-00", "execute")
        reporter.done("brief", "run-00", seconds=12.34, path=Path("reports/brief/run-00"))
        reporter.phase("brief", "run-01", "execute")
        reporter.failed("brief", "run-01", phase="execute", error="cell 4 raised KeyError")
        reporter.phase("brief", "run-02", "execute")
        live = screen(console, reporter)
    text = buffer.getvalue()
    assert text.count("✓ brief/run-00 done 12.3s reports/brief/run-00\n") == 1
    assert text.count("✗ brief/run-01 failed in execute: cell 4 raised KeyError\n") == 1
    # The live area keeps them short; the path and the error are the scrollback's.
    assert "reports/brief/run-00" not in "\n".join(live)
    assert "KeyError" not in "\n".join(live)
    assert live[1:] == [
        "⠋ brief/run-02 execute 1/4 0:00:00",
        "· brief/run-03 waiting",
        "✗ brief/run-01 failed in execute",
        "✓ brief/run-00 done 12.3s",
    ]


def test_rich_reporter_shows_a_phase_it_does_not_know_without_a_step():
    _, console = terminal()
    with progress.RichReporter(console, clock=Clock()) as reporter:
        reporter.start([("brief", "default", ("execute", "html"))])
        reporter.phase("brief", "default", "pdf")
        lines = screen(console, reporter)
    assert lines[1] == "⠋ brief/default pdf 0:00:00"


def test_rich_reporter_leaves_only_the_overall_line_when_it_closes():
    _, console = terminal(height=12)
    clock = Clock()
    reporter = progress.RichReporter(console, clock=clock)
    with reporter:
        reporter.start(forty_jobs()[:2])
        reporter.phase("brief", "run-00", "execute")
        clock.now += 61
        reporter.done("brief", "run-00", seconds=61.0)
    lines = screen(console, reporter)
    assert len(lines) == 1
    assert lines[0].endswith("1 done · 0 failed · 2 jobs · elapsed 0:01:01")


def test_rich_reporter_prints_a_failure_that_is_no_job_without_counting_it():
    buffer, console = terminal()
    with progress.RichReporter(console, clock=Clock()) as reporter:
        reporter.start(forty_jobs()[:2])
        reporter.failed("index", "html", phase="publish", error="disk full")
        header = screen(console, reporter)[0]
    assert "index/html failed in publish: disk full" in buffer.getvalue()
    assert "0 failed · 2 jobs" in header


def test_rich_reporter_shows_no_live_area_when_no_job_runs():
    buffer, console = terminal()
    with progress.RichReporter(console, clock=Clock()) as reporter:
        reporter.message("brief batch plans/daily.yaml: 8 job(s), 0 to run")
        reporter.start([])
    assert buffer.getvalue() == "brief batch plans/daily.yaml: 8 job(s), 0 to run\n"


def test_rich_reporter_prints_messages_above_the_live_area_as_they_are():
    buffer, console = terminal()
    with progress.RichReporter(console, clock=Clock()) as reporter:
        reporter.start(forty_jobs()[:2])
        reporter.message("index: [red]reports/index.html")
        reporter.done("brief", "run-[b]00", seconds=1.0)
    text = buffer.getvalue()
    assert "index: [red]reports/index.html\n" in text
    assert "brief/run-[b]00 done 1.0s\n" in text
    # The live area, drawn again under each message, keeps its styles as styles.
    assert "[/]" not in text and "[bold]" not in text


def test_make_reporter_is_live_on_a_terminal_and_plain_otherwise():
    assert type(progress.make_reporter(out=TTY())) is progress.RichReporter
    assert type(progress.make_reporter(out=io.StringIO())) is progress.PlainReporter
    assert type(progress.make_reporter(quiet=True, out=TTY())) is progress.QuietReporter
