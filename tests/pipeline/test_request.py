"""The render request, built once, and the one error a partly failed render raises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.batch.runner import BatchRequest
from helpers.errors import ExecutionError, ParameterError, RenderError, UsageError
from helpers.pipeline.request import (
    ExecutionFailed,
    ParametersFailed,
    RenderFailed,
    RenderingFailed,
    RenderRequest,
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
