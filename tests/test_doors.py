"""The same brief from every door (issue 16).

An analyst may run a brief notebook with ``brief render``; with papermill and then
``jupyter nbconvert --to brief_html``/``brief_pdf``; or in JupyterLab, which executes it
through a Jupyter server (a REST session, then the kernel's websocket) and exports it. Each
door must give the same brief: the executed notebook holds everything the house exporters
need (its own cells leave the title block), so the HTML is byte for byte the same apart from
the time in the colophon, and the PDF says the same.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import output_from_msg

from helpers import paths

BIN = Path(sys.executable).parent
NOTEBOOK = paths.NOTEBOOKS_DIR / "brief.ipynb"
# The only thing that may differ: when each door ran (and door 3 has no papermill to say).
# The colophon holds only the generation time (no plumbing since issue 20), and a door that
# ran no papermill has none.
COLOPHON = re.compile(r'\n?<footer class="brief-colophon">.*?</footer>', re.S)
# What the analyst types into the parameters cell, as `brief render -p` would inject it.
# `since: first` is what brief render injects for the first edition of a series.
PARAMETERS = {"partner": "China", "since": "first"}
# In the PDF the colophon is a running footer, so its time is on every page of the text.
GENERATED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")

pytestmark = pytest.mark.kernels


def same_brief(one: str, two: str) -> bool:
    return COLOPHON.sub("", one) == COLOPHON.sub("", two)


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def nbconvert(notebook: Path, to: str, cwd: Path) -> Path:
    """``jupyter nbconvert --to <to>`` as a user runs it, from ``cwd``."""
    done = subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", to, str(notebook)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return notebook.with_suffix(".html" if to == "brief_html" else ".pdf")


@pytest.fixture(scope="module")
def door_one(tmp_path_factory) -> Path:
    """``brief render``: the published run folder."""
    out = tmp_path_factory.mktemp("door-one") / "out"
    argv = [str(BIN / "brief"), "render", str(NOTEBOOK), "--out", str(out), "-q"]
    for name, value in PARAMETERS.items():
        if name != "since":  # brief render finds the edition itself: the first
            argv += ["-p", name, value]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [run] = (out / "brief").glob("partner-china-*")
    return run


def test_the_published_notebook_renders_the_published_brief_from_any_folder(door_one, tmp_path):
    copy = tmp_path / "elsewhere" / "brief.ipynb"
    copy.parent.mkdir()
    shutil.copy(door_one / "brief.ipynb", copy)

    html = nbconvert(copy, "brief_html", cwd=tmp_path)
    pdf = nbconvert(copy, "brief_pdf", cwd=tmp_path)

    assert html.read_bytes() == (door_one / "brief.html").read_bytes()  # the same notebook
    assert pdf_text(pdf) == pdf_text(door_one / "brief.pdf")
    page = html.read_text(encoding="utf-8")
    assert "<title>Myanmar\u2019s junta and China</title>" in page  # not the file name
    assert "Known by 2 March 2024" in page and "Focus" in page and "China" in page


def test_papermill_then_nbconvert_gives_the_brief_that_brief_render_gives(door_one, tmp_path):
    executed = tmp_path / "pm" / "brief.ipynb"
    executed.parent.mkdir()
    argv = [str(BIN / "papermill"), str(NOTEBOOK), str(executed), "--log-level", "WARNING"]
    for name, value in PARAMETERS.items():
        argv += ["-p", name, value]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    html = nbconvert(executed, "brief_html", cwd=tmp_path)
    pdf = nbconvert(executed, "brief_pdf", cwd=tmp_path)

    assert same_brief(html.read_text(), (door_one / "brief.html").read_text())
    assert pdf_text(pdf).replace(" ", "") != ""
    # The doors ran at different times, possibly in different minutes.
    assert GENERATED.search(pdf_text(pdf))
    assert GENERATED.sub("", pdf_text(pdf)) == GENERATED.sub("", pdf_text(door_one / "brief.pdf"))


# -- door three: a Jupyter server, as JupyterLab drives it ----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jupyter_server(tmp_path):
    """``jupyter server`` on a free port, serving ``tmp_path/root``; (base URL, token, root)."""
    root = tmp_path / "root"
    root.mkdir()
    port, token = free_port(), uuid.uuid4().hex
    argv = [str(BIN / "jupyter"), "server", "--no-browser", f"--port={port}"]
    argv += ["--ip=127.0.0.1", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}"]
    argv += ["--allow-root"]
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/api/status", params={"token": token}, timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        assert time.monotonic() < deadline, "the Jupyter server did not start"
        time.sleep(0.3)
    try:
        yield base, token, root
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


async def run_cells(ws_url: str, cells: list) -> None:
    """Execute each code cell over the kernel's websocket (Jupyter's JSON messages), as
    JupyterLab's "Run All" does, and put the kernel's replies into the cells' outputs."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(ws_url)
    session = uuid.uuid4().hex
    try:
        for count, cell in enumerate((c for c in cells if c.cell_type == "code"), 1):
            msg_id = uuid.uuid4().hex
            request = {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "session": session,
                    "username": "analyst",
                    "version": "5.3",
                    "date": "",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": cell.source, "silent": False, "store_history": True},
                "channel": "shell",
                "buffers": [],
            }
            await connection.write_message(json.dumps(request))
            cell.outputs, cell.execution_count = [], count
            replied = idle = False
            while not (replied and idle):  # the reply may come before the last output
                message = json.loads(await asyncio.wait_for(connection.read_message(), 120))
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind in {"stream", "display_data", "execute_result", "error"}:
                    cell.outputs.append(output_from_msg(message))
                elif kind == "status":
                    idle = content["execution_state"] == "idle"
                elif kind == "execute_reply":
                    assert content["status"] == "ok", content
                    replied = True
    finally:
        connection.close()


def test_a_notebook_run_through_a_jupyter_server_then_exported_gives_the_same_brief(
    door_one, jupyter_server, tmp_path
):
    import requests

    base, token, root = jupyter_server
    nb = nbformat.read(NOTEBOOK, as_version=4)
    [params] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    # The analyst changes the values in the parameters cell, as the notebook invites.
    for name, value in PARAMETERS.items():
        params.source, count = re.subn(
            rf"^{name}\b.*$", f"{name} = {value!r}", params.source, flags=re.MULTILINE
        )
        if not count:
            params.source += f"\n{name} = {value!r}"
    nbformat.write(nb, root / "brief.ipynb")
    auth = {"Authorization": f"token {token}"}

    created = requests.post(
        f"{base}/api/sessions",
        json={"path": "brief.ipynb", "type": "notebook", "kernel": {"name": "myanmar-brief"}},
        headers=auth,
        timeout=60,
    )
    assert created.status_code == 201, created.text
    kernel = created.json()["kernel"]["id"]
    ws = base.replace("http", "ws") + f"/api/kernels/{kernel}/channels?token={token}"
    asyncio.run(run_cells(ws, nb.cells))
    saved = requests.put(
        f"{base}/api/contents/brief.ipynb",
        json={"type": "notebook", "format": "json", "content": nb},
        headers=auth,
        timeout=60,
    )
    assert saved.ok, saved.text

    html = nbconvert(root / "brief.ipynb", "brief_html", cwd=tmp_path)

    assert same_brief(html.read_text(), (door_one / "brief.html").read_text())
