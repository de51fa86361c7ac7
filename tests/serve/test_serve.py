"""brief serve without a browser: forms from the schemas, 422, CSRF and Origin refusals, the
token, traversal spellings, and 503 when the queue is full (helpers.serve)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from helpers.errors import UsageError
from helpers.params import BriefParams
from helpers.pipeline.render import prepare
from helpers.pipeline.request import RunResult
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

    def held(job, kernel_manager_class=None):  # a render held on purpose
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

    def held(job, kernel_manager_class=None):
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
    def timed_out(job, kernel_manager_class=None):
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
    def broken(job, kernel_manager_class=None):
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
