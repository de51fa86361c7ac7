"""brief serve without a browser: forms from the schemas, 422, CSRF and Origin refusals, the
token, traversal spellings, 503 when the queue is full, and the brief's HTML shown before its
PDF (a real server and kernels, the PDF step held) (helpers.serve)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import httpx
import nbformat
from starlette.testclient import TestClient
from test_execute import gone
from test_hardening import tiny_notebook

from helpers.errors import UsageError
from helpers.params import BriefParams
from helpers.pipeline.progress import Reporter
from helpers.pipeline.render import prepare, render_job
from helpers.pipeline.request import RunResult
from helpers.proof.charts import CHROMIUM, CHROMIUM_ARGS
from helpers.serve import forms, security
from helpers.serve.app import Settings, create_app
from helpers.serve.jobs import QueueFull, Renderer

BASE = "http://127.0.0.1:8765"
ORIGIN = {"origin": BASE}


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def client(out):
    with TestClient(create_app(Settings(out_dir=out)), base_url=BASE) as c:
        yield c


def _csrf(client: TestClient, notebook: str = "brief") -> str:
    page = client.get(f"/notebook/{notebook}")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _form(**changes: object) -> dict:
    values: dict = {"partner": "Russia", "as_of": "2024-03-02", "max_rows": "15"}
    values.update(changes)
    return values


def test_start_page_lists_every_notebook_with_its_description(client):
    page = client.get("/")
    assert page.status_code == 200
    for name in ("brief", "defence", "energy_trade"):
        assert f'href="/notebook/{name}"' in page.text
    assert "The defence-cooperation notebook." in page.text


def test_form_fields_come_from_the_schema_named_as_the_parameters(client):
    text = client.get("/notebook/brief").text
    assert '<select name="partner"' in text and "<option selected>Russia</option>" in text
    assert '<select name="paper"' in text
    assert 'type="date" name="as_of" id="as_of" value="2024-03-02" required' in text
    assert 'type="date" name="start" id="start" value=""' in text
    assert 'name="include_undated" id="include_undated" value="true" checked' in text
    assert 'type="number" name="max_rows" id="max_rows" value="15" min="1" max="200"' in text
    for theme in ("defence", "energy", "economy", "regional"):
        assert f'name="themes" value="{theme}" checked' in text
    assert BriefParams.model_fields["partner"].description in text
    # The server's own: never a form's to set.
    assert 'name="data_dir"' not in text and 'name="since"' not in text
    assert "themes" not in client.get("/notebook/defence").text


def test_form_values_convert_as_the_command_line_does():
    class Form(dict):
        def getlist(self, key):
            value = self.get(key)
            return value if isinstance(value, list) else ([] if value is None else [value])

    raw = forms.values(BriefParams, Form(_form(themes=["energy"], start="", title="")))
    assert raw["include_undated"] is False  # an unchecked box
    assert raw["themes"] == ["energy"]
    assert raw["start"] is None and raw["title"] is None


def test_invalid_value_is_422_with_the_cli_message_by_its_field_and_no_render(client, out):
    token = _csrf(client)
    answer = client.post(
        "/notebook/brief",
        data={**_form(max_rows="500", themes=["energy"]), "csrf_token": token},
        headers=ORIGIN,
    )
    assert answer.status_code == 422
    error = re.search(r'id="error-max_rows">([^<]+)<', answer.text).group(1)
    assert error.startswith("brief.ipynb: parameter &#39;max_rows&#39; = &#39;500&#39;")
    assert "less than or equal to 200" in error
    assert 'value="500"' in answer.text  # the value comes back to be corrected
    assert list(out.iterdir()) == []  # nothing rendered, nothing published


def test_no_theme_and_a_window_out_of_order_are_422(client):
    token = _csrf(client)
    answer = client.post(
        "/notebook/brief",
        data={**_form(start="2024-01-10", end="2023-01-01"), "csrf_token": token},
        headers=ORIGIN,
    )
    assert answer.status_code == 422
    assert 'id="error-themes"' in answer.text
    answer = client.post(
        "/notebook/brief",
        data={
            **_form(start="2024-01-10", end="2023-01-01", themes="energy"),
            "csrf_token": token,
        },
        headers=ORIGIN,
    )
    assert answer.status_code == 422
    general = re.search(r'id="problems">([^<]+)<', answer.text).group(1)
    assert general == "brief.ipynb: start (2024-01-10) must be on or before end (2023-01-01)"


def test_a_form_cannot_set_the_data_folder(client):
    token = _csrf(client)
    answer = client.post(
        "/notebook/brief",
        data={**_form(themes="energy", data_dir="/etc"), "csrf_token": token},
        headers=ORIGIN,
    )
    assert answer.status_code == 422
    assert "parameter &#39;data_dir&#39;: set by the server" in answer.text


def test_post_without_csrf_token_or_from_another_site_renders_nothing(client, out):
    token = _csrf(client)
    data = {**_form(themes="energy"), "csrf_token": token}
    cross = client.post("/notebook/brief", data=data, headers={"origin": "https://evil.test"})
    assert cross.status_code == 403
    no_origin = client.post("/notebook/brief", data=data)
    assert no_origin.status_code == 403
    wrong = client.post("/notebook/brief", data={**data, "csrf_token": "x" * 32}, headers=ORIGIN)
    assert wrong.status_code == 403 and "CSRF" in wrong.text
    assert list(out.iterdir()) == []


def test_every_page_has_a_csp_and_no_traceback(client):
    for path in ("/", "/notebook/brief", "/notebook/nope", "/out/nothing", "/brief/brief/x"):
        answer = client.get(path)
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "Traceback" not in answer.text


def test_a_dns_rebound_host_is_refused_without_a_token(out):
    with TestClient(create_app(Settings(out_dir=out)), base_url="http://evil.test") as c:
        assert c.get("/").status_code == 400


def test_request_bodies_are_bounded(client):
    token = _csrf(client)
    answer = client.post(
        "/notebook/brief",
        content=b"title=" + b"a" * (security.MAX_BODY + 10) + f"&csrf_token={token}".encode(),
        headers={**ORIGIN, "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


@pytest.fixture
def traversal(tmp_path, out):
    (tmp_path / "secret.txt").write_text("secret")
    (out / "brief").mkdir()
    (out / "brief" / "brief.html").write_text("<p>brief</p>")
    (out / ".brief.lock").write_text("")
    (out / "brief" / "link.txt").symlink_to(tmp_path / "secret.txt")
    (out / "_failed").mkdir()
    (out / "_failed" / "error.txt").write_text("Traceback (most recent call last): secret")
    return out


@pytest.mark.parametrize(
    "spelling",
    [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "%2E%2E%2Fsecret.txt",
        "%252e%252e%252fsecret.txt",
        "brief/../../secret.txt",
        "brief/..%2f..%2fsecret.txt",
        "brief/%252e%252e/%252e%252e/secret.txt",
        "....//secret.txt",
        "brief/..\\..\\secret.txt",
        "brief/link.txt",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        ".brief.lock",
        "brief/brief.html%00.txt",
        "_failed/error.txt",
        "%5ffailed/error.txt",
    ],
)
def test_traversal_spellings_never_leave_out(traversal, spelling):
    assert security.safe_path(traversal, spelling) is None
    with TestClient(create_app(Settings(out_dir=traversal)), base_url=BASE) as c:
        answer = c.get(f"/out/{spelling}")
        assert answer.status_code == 404
        assert "secret" not in answer.text


def test_files_under_out_are_served_read_only(traversal):
    with TestClient(create_app(Settings(out_dir=traversal)), base_url=BASE) as c:
        assert c.get("/out/brief/brief.html").text == "<p>brief</p>"
        assert c.put("/out/brief/brief.html", content=b"x").status_code == 405
        assert c.delete("/out/brief/brief.html").status_code == 405
    assert (traversal / "brief" / "brief.html").read_text() == "<p>brief</p>"


def test_a_token_is_generated_for_any_other_host_and_required(out):
    assert security.need_token("127.0.0.1", None) is None
    assert security.need_token("localhost", None) is None
    generated = security.need_token("0.0.0.0", None)
    assert generated and len(generated) >= 16
    with pytest.raises(UsageError, match="at least 16"):
        security.need_token("0.0.0.0", "short")
    token = "t" * 24
    app = create_app(Settings(out_dir=out, token=token))
    with TestClient(app, base_url="http://192.0.2.7:8765") as c:
        assert c.get("/").status_code == 403
        assert c.get("/?token=wrong").status_code == 403
        assert c.get("/", headers={"authorization": f"token {token}"}).status_code == 200
        first = c.get(f"/?token={token}", follow_redirects=False)
        assert first.status_code == 303 and "token" not in first.headers["location"]
        assert c.get("/").status_code == 200  # the cookie carries it now


def test_queue_full_is_503_with_retry_after(out, monkeypatch):
    release = threading.Event()
    started = threading.Event()

    def held(job, reporter=None):  # a render held on purpose
        started.set()
        release.wait(30)
        return RunResult(job.name, job.run, "ok", 0.0)

    renderer = Renderer(out, workers=1, queue=0, warm=False, run_job=held).start()
    try:
        job = prepare(["brief"], parameters={"partner": "China"}, out_dir=out)[0]
        renderer.submit(job)
        assert started.wait(30)
        with pytest.raises(QueueFull):
            renderer.submit(prepare(["brief"], parameters={"partner": "India"}, out_dir=out)[0])
        app = create_app(Settings(out_dir=renderer.out_dir), renderer)
        with TestClient(app, base_url=BASE) as c:
            token = _csrf(c)
            answer = c.post(
                "/notebook/brief",
                data={**_form(partner="India", themes="energy"), "csrf_token": token},
                headers=ORIGIN,
            )
        assert answer.status_code == 503
        assert int(answer.headers["retry-after"]) >= 1
    finally:
        release.set()
        assert renderer.stop() == 0


def test_stop_cancels_waiting_renders(out):
    release = threading.Event()
    started = threading.Event()

    def held(job, reporter=None):
        started.set()
        release.wait(30)
        return RunResult(job.name, job.run, "ok", 0.0)

    renderer = Renderer(out, workers=1, queue=2, warm=False, run_job=held).start()
    running = renderer.submit(prepare(["brief"], parameters={"partner": "China"}, out_dir=out)[0])
    waiting = renderer.submit(prepare(["brief"], parameters={"partner": "India"}, out_dir=out)[0])
    assert started.wait(30)
    assert renderer.close() == 1
    release.set()
    assert renderer.stop() == 1
    assert waiting.cancelled() and running.result().ok


def test_the_output_folder_is_locked_while_serving(out):
    from helpers.errors import LockHeldError
    from helpers.pipeline import publish

    renderer = Renderer(out, warm=False).start()
    try:
        with pytest.raises(LockHeldError), publish.locked(Path(out)):
            pass
    finally:
        renderer.stop()


def _served_with(out, run_job):
    renderer = Renderer(out, workers=1, queue=1, warm=False, run_job=run_job).start()
    app = create_app(Settings(out_dir=renderer.out_dir), renderer)
    return renderer, app


def _post_energy(c: TestClient):
    token = _csrf(c)
    return c.post(
        "/notebook/brief",
        data={**_form(themes="energy"), "csrf_token": token},
        headers=ORIGIN,
        follow_redirects=False,
    )


def test_a_render_past_the_timeout_is_reported_on_the_page(out):
    def timed_out(job, reporter=None):
        return RunResult(
            job.name,
            job.run,
            "failed",
            1.0,
            phase="execute",
            error="brief.ipynb: a cell timed out after 5 seconds\nTraceback (most recent...)",
            exit_code=5,
        )

    renderer, app = _served_with(out, timed_out)
    try:
        with TestClient(app, base_url=BASE) as c:
            answer = _post_energy(c)
        assert answer.status_code == 504
        assert "ran past the timeout" in answer.text and "Traceback" not in answer.text
    finally:
        renderer.stop()


def test_an_unexpected_error_reaches_the_browser_without_its_traceback(out):
    def broken(job, reporter=None):
        raise RuntimeError("internal detail /secret/path")

    renderer, app = _served_with(out, broken)
    try:
        with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
            answer = _post_energy(c)
        assert answer.status_code == 500
        assert "Traceback" not in answer.text and "/secret/path" not in answer.text
        assert "default-src 'none'" in answer.headers["content-security-policy"]
    finally:
        renderer.stop()


def test_cli_refuses_a_short_token_on_another_host_before_anything_starts(tmp_path, capsys):
    from helpers.cli import main

    out = tmp_path / "never"
    code = main(["serve", "--host", "0.0.0.0", "--token", "short", "--out", str(out)])
    assert code == UsageError.exit_code
    assert "--token must be at least 16 characters" in capsys.readouterr().err
    assert not out.exists()


def test_cli_exits_75_when_another_run_holds_the_output_folder(out, capsys):
    from helpers.cli import main
    from helpers.errors import LockHeldError
    from helpers.pipeline import publish

    with publish.locked(out):
        code = main(["serve", "--port", "0", "--out", str(out), "--cold"])
    assert code == LockHeldError.exit_code
    assert "another brief run holds" in capsys.readouterr().err


# -- the brief's HTML before its PDF: a real server, real kernels, the PDF step held ----------


class _Gate:
    """Wraps the real :func:`~helpers.pipeline.render.render_job` (through the renderer's
    ``run_job``): a render whose partner is in :attr:`held` stops when its PDF step begins,
    until released; one whose partner is in :attr:`broken` then finds a folder where its PDF
    is to be written, so the PDF step fails for real."""

    def __init__(self) -> None:
        self.held: dict[str, threading.Event] = {}
        self.at_pdf: dict[str, threading.Event] = {}
        self.broken: set[str] = set()

    def hold(self, partner: str, *, broken: bool = False) -> threading.Event:
        self.at_pdf[partner] = threading.Event()
        self.held[partner] = release = threading.Event()
        if broken:
            self.broken.add(partner)
        return release

    def __call__(self, job, reporter=None, **ahead):
        return render_job(job, _Holding(self, str(job.parameters["partner"]), reporter), **ahead)


class _Holding(Reporter):
    def __init__(self, gate: _Gate, partner: str, inner: Reporter | None) -> None:
        self.gate, self.partner, self.inner = gate, partner, inner or Reporter()
        self.html: Path | None = None

    def staged(self, notebook, run, fmt, path):
        self.html = path
        self.inner.staged(notebook, run, fmt, path)

    def phase(self, notebook, run, phase):
        self.inner.phase(notebook, run, phase)
        if phase != "pdf" or self.partner not in self.gate.held:
            return
        self.gate.at_pdf[self.partner].set()
        assert self.gate.held[self.partner].wait(120), "never released"
        if self.partner in self.gate.broken:
            (self.html.parent / f"{self.html.stem}.pdf").mkdir()


class _Live:
    """A ``brief serve`` application under uvicorn on 127.0.0.1, in this process, rendering
    through a :class:`_Gate`, with a client that keeps its cookies."""

    def __init__(self, out: Path) -> None:
        import uvicorn

        self.gate = _Gate()
        self.renderer = Renderer(
            out, workers=1, queue=2, run_job=self.gate, kernels_ahead=True
        ).start()
        self.out = self.renderer.out_dir
        app = create_app(Settings(out_dir=self.out, timeout=120), self.renderer)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=120, follow_redirects=False)

    def post(self, notebook: str, **values: object) -> httpx.Response:
        page = self.client.get(f"/notebook/{notebook}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        data = {**_form(**values), "csrf_token": token}
        return self.client.post(f"/notebook/{notebook}", data=data, headers={"origin": self.url})

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(60)
        assert self.renderer.stop() == 0


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = _Live(tmp_path_factory.mktemp("serve-live") / "out")
    yield server
    server.stop()


def _run_of(answer: httpx.Response, notebook: str) -> str:
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(rf"/brief/{notebook}/([^/]+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


@pytest.mark.kernels
def test_the_brief_is_shown_before_its_pdf_and_its_page_becomes_the_edition(live):
    release = live.gate.hold("China")
    try:
        run = _run_of(live.post("defence", partner="China"), "defence")
        assert live.gate.at_pdf["China"].wait(60)  # answered, and the PDF step is held
        page = live.client.get(f"/brief/defence/{run}")
        assert page.status_code == 200
        assert "The PDF is being made; this page reloads when the edition is published." in (
            page.text
        )
        assert f'<meta http-equiv="refresh" content="2; url=/brief/defence/{run}?published">' in (
            page.text
        )
        assert f'<iframe class="brief" title="The brief" src="/preview/defence/{run}"' in page.text
        for link in ('id="pdf"', "manifest.json", 'id="diff"', 'class="editions"'):
            assert link not in page.text
        preview = live.client.get(f"/preview/defence/{run}")
        assert preview.status_code == 200
        assert preview.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in preview.headers["content-security-policy"]
        assert "script-src" not in preview.headers["content-security-policy"]
        assert "Defence cooperation" in preview.text and "China" in preview.text
        # Nothing of the edition is published yet.
        assert not (live.out / "defence" / run).exists()
        assert live.client.get(f"/out/defence/{run}/defence.html").status_code == 404
    finally:
        release.set()
    # The page's refresh is held until the edition is out, then sent to the edition.
    refreshed = live.client.get(f"/brief/defence/{run}?published")
    assert refreshed.status_code == 303
    assert refreshed.headers["location"] == f"/brief/defence/{run}"
    page = live.client.get(f"/brief/defence/{run}")
    assert page.status_code == 200 and 'id="pdf"' in page.text
    assert "being made" not in page.text and "http-equiv" not in page.text
    assert f'src="/out/defence/{run}/defence.html"' in page.text
    assert live.client.get(f"/out/defence/{run}/defence.pdf").content[:5] == b"%PDF-"
    assert live.client.get(f"/preview/defence/{run}").status_code == 404  # only in flight


@pytest.mark.kernels
def test_a_render_that_fails_after_its_preview_says_so_and_publishes_nothing(live):
    release = live.gate.hold("India", broken=True)
    try:
        run = _run_of(live.post("defence", partner="India"), "defence")
        assert "being made" in live.client.get(f"/brief/defence/{run}").text
    finally:
        release.set()
    refreshed = live.client.get(f"/brief/defence/{run}?published")
    assert refreshed.status_code == 303
    page = live.client.get(refreshed.headers["location"])
    assert page.status_code == 500
    assert "The brief failed (pdf)" in page.text
    assert "Nothing was published; the previous edition is untouched." in page.text
    assert "Traceback" not in page.text and "being made" not in page.text
    assert not (live.out / "defence" / run).exists()
    assert (live.out / "_failed" / "defence" / run).is_dir()  # kept for the operator
    assert live.client.get(f"/preview/defence/{run}").status_code == 404


def _kernel_ahead(renderer: Renderer, other_than: int | None = None) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pid = renderer.kernel_ahead
        if pid is not None and pid != other_than:
            return pid
        time.sleep(0.05)
    raise AssertionError("no kernel was started ahead")


PRINT_PID = "import os\nprint('kernel', os.getpid())"


def _kernel_of(result: RunResult) -> int:
    executed = nbformat.read(result.outputs[f"{result.notebook}.ipynb"], as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    return int(re.search(r"kernel (\d+)", text).group(1))


@pytest.mark.kernels
def test_a_render_runs_on_the_kernel_started_ahead_for_its_folder_and_the_next_one_starts(
    out, tmp_path
):
    notebook = tiny_notebook(tmp_path / "nbs", PRINT_PID)
    renderer = Renderer(out, workers=1, queue=1, kernels_ahead=True).start()
    kernels = []
    try:
        for _ in range(3):
            kernels.append(_kernel_ahead(renderer, other_than=kernels[-1] if kernels else None))
            job = prepare([notebook], formats=["html"], out_dir=renderer.out_dir)[0]
            result = renderer.submit(job).result(timeout=300)
            assert result.ok, result.error
            assert gone(kernels[-1])  # it ran on it, or threw it away; either way it ended
            ran_on = _kernel_of(result)
            # The first was started for the package's notebooks, not this folder: not used.
            # Each later one was started for this notebook's folder, and ran it.
            assert (ran_on == kernels[-1]) == (len(kernels) > 1)
        last = _kernel_ahead(renderer, other_than=kernels[-1])
    finally:
        renderer.stop()
    assert gone(last)
    assert not (renderer.out_dir / ".tmp").exists()  # its folder went with it


def test_preview_serves_only_the_html_of_a_render_in_flight_never_a_file(traversal):
    release, staged = threading.Event(), threading.Event()

    def in_flight(job, reporter=None):  # a render whose HTML is staged, held before its PDF
        html = traversal.parent / "staged.html"
        html.write_text("<p>staged brief</p>")
        reporter.staged(job.name, job.run, "html", html)
        staged.set()
        release.wait(30)
        return RunResult(job.name, job.run, "failed", 0.0, phase="pdf", error="stopped")

    renderer = Renderer(traversal, workers=1, queue=0, warm=False, run_job=in_flight).start()
    try:
        job = prepare(["brief"], parameters={"partner": "China"}, out_dir=traversal)[0]
        renderer.submit(job)
        assert staged.wait(30)
        app = create_app(Settings(out_dir=renderer.out_dir), renderer)
        with TestClient(app, base_url=BASE) as c:
            assert c.get(f"/preview/brief/{job.run}").text == "<p>staged brief</p>"
            for path in (
                "/preview/brief/default",  # not in flight
                "/preview/brief/link.txt",
                "/preview/brief/brief.html",
                "/preview/nope/x",
                "/preview/brief/..%2f..%2fsecret.txt",
                "/preview/brief/%2e%2e",
                f"/preview/defence/{job.run}",
                f"/preview/brief/{job.run}/../../secret.txt",
            ):
                answer = c.get(path)
                assert answer.status_code == 404, path
                assert "secret" not in answer.text and "staged brief" not in answer.text
            assert c.get("/brief/brief/default").status_code == 404
    finally:
        release.set()
        renderer.stop()


def _staging(out: Path, then):
    """A render (no kernel) that stages its HTML, as render_job does, then does ``then``."""

    def run_job(job, reporter=None):
        html = out.parent / "staged.html"
        html.write_text("<p>staged brief</p>")
        reporter.staged(job.name, job.run, "html", html)
        return then(job)

    return run_job


@pytest.mark.parametrize("formats", [["html", "pdf"], ["html"]])
def test_the_html_is_kept_for_a_preview_only_when_a_pdf_follows(out, formats):
    seen = []

    def published(job):  # what the page would show once the HTML is staged
        seen.append(renderer.preview(job.name, job.run))
        return RunResult(job.name, job.run, "ok", 0.0)

    renderer = Renderer(out, workers=1, queue=0, warm=False, run_job=_staging(out, published))
    renderer.start()
    try:
        job = prepare(["brief"], parameters={"partner": "China"}, formats=formats, out_dir=out)[0]
        future = renderer.submit(job)
        assert future.result(30).ok
        assert renderer.preview(job.name, job.run) is None  # no longer in flight
    finally:
        renderer.stop()
    # With --to html the edition follows the HTML at once: no preview, as before.
    assert seen == ([b"<p>staged brief</p>"] if "pdf" in formats else [None])


def test_a_render_that_breaks_after_its_preview_says_so_without_its_traceback(out):
    def broken(job):
        raise RuntimeError("internal detail /secret/path")

    renderer = Renderer(out, workers=1, queue=0, warm=False, run_job=_staging(out, broken)).start()
    try:
        job = prepare(["brief"], parameters={"partner": "China"}, out_dir=out)[0]
        with pytest.raises(RuntimeError):
            renderer.submit(job).result(30)
        assert renderer.failure(job.name, job.run) == "RuntimeError"
        app = create_app(Settings(out_dir=renderer.out_dir), renderer)
        with TestClient(app, base_url=BASE) as c:
            page = c.get(f"/brief/brief/{job.run}")
            assert page.status_code == 500
            assert "Something went wrong on the server; see its log." in page.text
            assert "/secret/path" not in page.text and "Traceback" not in page.text
            assert c.get(f"/preview/brief/{job.run}").status_code == 404
    finally:
        renderer.stop()


@pytest.mark.kernels
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
def test_in_a_browser_the_brief_reads_at_once_then_its_page_reloads_into_the_edition(live):
    sync_api = pytest.importorskip("playwright.sync_api")
    release = live.gate.hold("Russia")  # the main brief's default partner
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(live.url + "/notebook/brief")
            with page.expect_navigation(timeout=120_000):
                page.click("button[type=submit]")  # the default form
            assert re.search(r"/brief/brief/[^/?]+$", page.url)
            assert "The PDF is being made" in page.locator("#pending").inner_text()
            assert "Russia" in page.frame_locator("iframe.brief").locator("h1").first.inner_text()
            assert page.locator("a#pdf").count() == 0
            release.set()
            page.locator("a#pdf").wait_for(timeout=120_000)  # the page reloaded by itself
            assert re.search(r"/brief/brief/[^/?]+$", page.url)
            assert page.locator("#pending").count() == 0
            assert "Russia" in page.frame_locator("iframe.brief").locator("h1").first.inner_text()
            answer = page.request.get(live.url + page.locator("a#pdf").get_attribute("href"))
            assert answer.status == 200 and answer.body()[:5] == b"%PDF-"
        finally:
            release.set()
            browser.close()
