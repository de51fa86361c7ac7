"""brief serve in a real browser: Debian's Chromium driven by Playwright against a real
``brief serve`` on 127.0.0.1 (a free port), with real kernels forked from its zygote."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.proof.charts import CHROMIUM, CHROMIUM_ARGS

pytest.importorskip("starlette")
playwright = pytest.importorskip("playwright.sync_api")

# Debian's Chromium, launched as the proof's chart rule launches it.
ARGS = CHROMIUM_ARGS
pytestmark = [
    pytest.mark.browser,
    pytest.mark.kernels,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


class Served:
    """A ``brief serve`` process and the address it printed."""

    def __init__(self, out: Path, *extra: str) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.log = out.parent / "serve.log"
        with self.log.open("w") as log:
            self.process = self._start(out, log, extra)
        line = self.process.stdout.readline()
        found = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
        assert found, line + self.log.read_text()
        self.url = found.group(1)

    @staticmethod
    def _start(out: Path, log, extra) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "helpers.cli",
                "serve",
                "--port",
                "0",
                "--out",
                str(out),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(120)
        finally:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("serve") / "out", "--timeout", "120")
    yield server
    assert server.stop() == 0


def _submit(page, expect_status: int | None = None):
    with page.expect_navigation(timeout=120_000) as navigation:
        page.click("button[type=submit]")
    response = navigation.value
    if expect_status is not None:
        # a 303 after POST lands on the brief: its final response is 200
        assert response is not None and response.status == expect_status, page.content()[:2000]
    return response


def _published(page) -> None:
    """Wait until the brief's page is its published edition: the page that shows the brief
    while its PDF is made reloads into it."""
    page.locator("a#pdf").wait_for(timeout=120_000)
    assert page.locator("#pending").count() == 0


def test_fill_the_form_read_the_brief_follow_the_pdf_and_the_diff(browser, served):
    page = browser.new_page()
    page.goto(served.url)
    page.click("a[href='/notebook/brief']")
    page.select_option("select[name=partner]", "China")
    page.uncheck("input[name=themes][value=regional]")
    page.fill("input[name=end]", "2023-12-31")
    _submit(page, 200)
    assert re.search(r"/brief/brief/[^/]+$", page.url)
    # The brief as soon as its HTML is made (its PDF may still be being made)...
    frame = page.frame_locator("iframe.brief")
    assert "China" in frame.locator("h1").first.inner_text()
    _published(page)  # ...and the edition once published
    assert re.search(r"/brief/brief/[^/?]+$", page.url)
    assert "first edition" in page.locator("nav.links").inner_text()

    pdf = page.locator("a#pdf").get_attribute("href")
    answer = page.request.get(served.url.rstrip("/") + pdf)
    assert answer.status == 200 and answer.body()[:5] == b"%PDF-"
    assert answer.headers["content-type"] == "application/pdf"

    # A later edition of the same series: the editions list and what changed.
    page.goto(served.url + "notebook/brief")
    page.select_option("select[name=partner]", "China")
    page.uncheck("input[name=themes][value=regional]")
    _submit(page, 200)
    _published(page)
    editions = page.locator("nav.editions").inner_text()
    assert "2023-12-31" in editions and "2024-03-02" in editions
    page.click("a#diff")
    assert "new" in page.locator("pre.diff").inner_text().lower()
    page.close()


def test_an_invalid_value_comes_back_422_by_its_field(browser, served):
    page = browser.new_page()
    page.goto(served.url + "notebook/defence")
    page.fill("input[name=start]", "2024-03-01")
    page.fill("input[name=end]", "2024-01-01")
    _submit(page, 422)
    assert "must be on or before" in page.locator(".error").first.inner_text()
    assert page.locator("input[name=start]").input_value() == "2024-03-01"
    assert not (served.out / "defence").exists()
    page.close()


def test_sigterm_during_a_render_finishes_it_cancels_the_waiting_one_and_exits_130(
    browser, tmp_path
):
    server = Served(tmp_path / "out", "--workers", "1")
    try:
        pages = [browser.new_page() for _ in range(2)]
        for page, partner in zip(pages, ("India", "Russia"), strict=True):
            page.goto(server.url + "notebook/defence")
            page.select_option("select[name=partner]", partner)
        for page in pages:
            page.click("button[type=submit]", no_wait_after=True)
            time.sleep(0.3)
        deadline = time.monotonic() + 60
        tmp = tmp_path / "out" / ".tmp"
        while time.monotonic() < deadline and not (tmp.is_dir() and any(tmp.iterdir())):
            time.sleep(0.1)  # the first render has begun
        time.sleep(1.5)  # and the second request waits behind it
        kernels = _children(server.process.pid)
        assert kernels  # the zygote, and the kernel forked from it
        code = server.stop(signal.SIGTERM)
        assert code == 130
    finally:
        if server.process.poll() is None:
            server.process.kill()
    out = tmp_path / "out"
    # The render that ran was finished and published whole; the waiting one never started.
    published = [p for p in (out / "defence").iterdir() if not p.name.startswith(".")]
    assert len(published) == 1
    assert (published[0] / "manifest.json").is_file()
    assert not any((out / ".tmp").iterdir()) if (out / ".tmp").exists() else True
    assert not [k for k in kernels if k.is_running() and k.status() != "zombie"]
    for page in pages:
        page.close()


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _one_client(base: str, requests: int) -> list[int]:
    """A client posting the defence form ``requests`` times; the status of each answer."""
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = opener.open(base + "notebook/defence", timeout=120).read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {"csrf_token": csrf, "partner": "India", "as_of": "2024-03-02", "max_rows": "15"}
    ).encode()
    statuses = []
    for _ in range(requests):
        request = urllib.request.Request(
            base + "notebook/defence", data=data, headers={"Origin": base.rstrip("/")}
        )
        try:
            with opener.open(request, timeout=300) as answer:
                answer.read()
                statuses.append(answer.status)
        except urllib.error.HTTPError as exc:
            assert exc.code != 503 or int(exc.headers["Retry-After"]) >= 1
            statuses.append(exc.code)
    return statuses


def test_a_bounded_load_run_answers_every_request_with_memory_bounded(served):
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(lambda _: _one_client(served.url, 5), range(6)))
    statuses = [status for run in runs for status in run]
    assert len(statuses) == 30
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 6
    server = psutil.Process(served.process.pid)
    tree = [server, *server.children(recursive=True)]
    assert len(tree) <= 3  # the server, its zygote, at most a kernel finishing
    assert server.memory_info().rss < 1_500_000_000
