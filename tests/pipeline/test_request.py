"""The render request, built once, and the one error a partly failed render raises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.batch.executors import WorkerDied, crashed
from helpers.batch.runner import BatchRequest
from helpers.errors import (
    ClusterError,
    ExecutionError,
    KernelStartError,
    ParameterError,
    RenderError,
    UsageError,
)
from helpers.pipeline.request import (
    ExecutionFailed,
    FailureKind,
    Job,
    ParametersFailed,
    RenderFailed,
    RenderingFailed,
    RenderRequest,
    RunResult,
)


def test_a_request_is_made_from_its_notebooks_and_keywords_or_given_whole():
    by_keywords = RenderRequest.of(["brief"], parameters={"partner": "China"}, formats="pdf")
    assert by_keywords == RenderRequest(
        notebooks=("brief",), parameters={"partner": "China"}, formats=("pdf",)
    )
    assert RenderRequest.of(by_keywords) is by_keywords
    assert RenderRequest.of(by_keywords, timeout=30).timeout == 30
    assert RenderRequest.of(None).notebooks == ()  # every notebook
    with pytest.raises(TypeError, match="notebooks given twice"):
        RenderRequest.of(["brief"], notebooks=["defence"])


def test_a_request_holds_plain_values_whatever_it_was_given():
    request = RenderRequest(
        notebooks="brief", formats=["PDF", "html", "pdf"], data_dir="data", out_dir="out"
    )
    assert request.notebooks == ("brief",)
    assert request.formats == ("pdf", "html")
    assert (request.data_dir, request.out_dir) == (Path("data"), Path("out"))
    assert request.params_file is None and request.parameters == {}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"formats": "docx"}, "unknown output format"),
        ({"formats": ()}, "(none given)"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
    ],
)
def test_a_request_refuses_what_the_command_line_refuses(fields, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        RenderRequest(**fields)


def test_a_batch_request_is_made_from_its_plan_and_keywords():
    request = BatchRequest.of("plans/daily.yaml", workers=2, out_dir="/srv/briefs")
    assert request.plan == Path("plans/daily.yaml")
    assert request.out_dir == Path("/srv/briefs")
    assert (request.workers, request.force, request.scheduler) == (2, False, None)
    assert request.source == "plans/daily.yaml"


@pytest.mark.parametrize(
    ("exit_code", "kind", "base"),
    [
        (5, ExecutionFailed, ExecutionError),
        (2, ExecutionFailed, ExecutionError),  # a usage error inside a job ran as a failed job
        (6, RenderingFailed, RenderError),
        (4, ParametersFailed, ParameterError),
    ],
)
def test_a_failed_render_is_one_error_type_of_the_first_failures_kind(exit_code, kind, base):
    error = RenderFailed.of_kind(exit_code, "1 of 2 notebook(s) failed", ["a", "b"])
    assert type(error) is kind
    assert isinstance(error, RenderFailed) and isinstance(error, base)
    assert error.exit_code == base.exit_code
    assert error.results == ["a", "b"]
    assert str(error) == "1 of 2 notebook(s) failed"


def _job() -> Job:
    return Job(
        notebook=Path("brief.ipynb"),
        name="brief",
        run="default",
        parameters={},
        overrides={},
        formats=("html",),
        out_dir=Path("out"),
        data_dir=None,
        data_fingerprint="0" * 64,
        timeout=None,
        command="brief render brief",
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (KernelStartError("the kernel did not start"), FailureKind.KERNEL_START),
        (ClusterError("lost the scheduler"), FailureKind.CLUSTER),
        (ExecutionError("cell 3 raised"), FailureKind.NOTEBOOK),
        (RenderError("the PDF failed"), FailureKind.NOTEBOOK),
    ],
)
def test_a_failed_result_says_what_kind_of_failure_ended_it(error, kind):
    result = RunResult.failure(_job(), error, phase="execute", seconds=1.0)
    assert (result.status, result.kind, result.exit_code) == ("failed", kind, error.exit_code)
    assert RunResult("brief", "default", "ok", 1.0).kind is FailureKind.NONE


def test_a_job_whose_worker_died_or_was_stopped_says_so_in_its_kind():
    died = crashed(_job(), WorkerDied("worker died, signal 9 (SIGKILL)"), 0.0)
    assert (died.kind, died.exit_code) == (FailureKind.WORKER_DIED, 5)
    stopped = crashed(_job(), KeyboardInterrupt("the batch was interrupted"), 0.0)
    assert stopped.kind is FailureKind.INTERRUPTED
    assert stopped.error == (
        "the worker running brief/default failed: KeyboardInterrupt: the batch was interrupted"
    )
