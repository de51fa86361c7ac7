"""What several sides share: formats, timestamps, values as text, the parent-death signal."""

from __future__ import annotations

import re
import signal
import sys

import pytest

from helpers import common
from helpers.errors import UsageError
from helpers.text import cli_text, reader_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("China", "China"),
        (True, "true"),
        (False, "false"),
        (15, "15"),
        (None, "None"),
        (["defence", "energy"], "defence,energy"),
    ],
)
def test_cli_text_spells_values_as_the_schemas_read_them(value, text):
    assert cli_text(value) == text


def test_utc_now_sorts_in_time_order():
    first = common.utc_now()
    second = common.utc_now()
    assert first <= second


@pytest.mark.parametrize(
    ("given", "chosen"),
    [("html", ("html",)), ("PDF,html,pdf", ("pdf", "html")), (["html", " pdf "], ("html", "pdf"))],
)
def test_formats_are_read_in_order_without_repeats(given, chosen):
    assert common.parse_formats(given) == chosen


@pytest.mark.parametrize("given", ["docx", "html,docx", ",", []])
def test_an_unknown_or_empty_format_is_a_usage_error_naming_the_known_ones(given):
    with pytest.raises(UsageError, match="choose from: html, pdf"):
        common.parse_formats(given)


def test_utc_now_to_the_millisecond_or_the_second():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", common.utc_now())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", common.utc_now(millis=False))
    assert re.fullmatch(r"\d{8}T\d{6}Z", common.utc_compact())


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "—"), (True, "yes"), (["a", "b"], "a, b"), ({"k": [1, 2]}, "k: 1, 2"), ([], "—")],
)
def test_reader_text_is_what_a_masthead_or_an_index_shows(value, text):
    assert reader_text(value) == text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_parent_death_signal_is_set_in_a_child(tmp_path):
    import subprocess

    code = (
        "import signal, ctypes; from helpers.signals import set_parent_death_signal\n"
        "set_parent_death_signal(signal.SIGUSR1)\n"
        "libc = ctypes.CDLL(None); sig = ctypes.c_int()\n"
        "libc.prctl(2, ctypes.byref(sig), 0, 0, 0)\n"  # PR_GET_PDEATHSIG
        "print(sig.value)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == signal.SIGUSR1
