"""The ``brief serve`` web application: a form per notebook, briefs rendered on demand.

:func:`create_app` builds a Starlette application over the library the command line uses:
the start page lists the notebooks; each has a form made from its schema (:mod:`.forms`); a
valid submit is checked again by :func:`helpers.pipeline.prepare.prepare` (the same checks and
messages as ``brief render``), rendered by the :class:`~.jobs.Renderer`, published into
``--out`` and shown, with links to its PDF, its notebook, the comparison with the previous
edition and the series' other editions. Files are served read-only from ``--out`` only
(:func:`.security.safe_path`). Every response carries the CSP; no traceback reaches the
browser.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpers import paths
from helpers.errors import BriefError, ParameterError
from helpers.ledger import EditionSummary, as_text
from helpers.params import SCHEMAS, BaseParams, schema_for
from helpers.pipeline.prepare import prepare
from helpers.pipeline.request import RenderRequest, RunResult
from helpers.pipeline.series import diff as compare_runs
from helpers.pipeline.series import edition_date, series_key
from helpers.serve import forms, security
from helpers.serve.jobs import QueueFull, Renderer, Stopping

log = logging.getLogger(__name__)

TEMPLATES = paths.TEMPLATES_DIR / "serve"
#: A run folder's name as ``helpers.pipeline.publish.run_name`` makes them.
_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
#: What the browser is told of an error that is the server's (its traceback goes to the log).
SERVER_FAILED = "Something went wrong on the server; see its log."
#: The query of a preview's refresh, which the server holds until the edition is published,
#: at most :data:`WAIT_SECONDS`.
WAIT = "published"
WAIT_SECONDS = 20.0


@dataclass
class Settings:
    """What the application serves and how.

    Attributes
    ----------
    out_dir
        The output folder (``--out``): briefs are published there, and only files there are
        served.
    data_dir
        The data folder (``--data``); ``None`` for the package's.
    token
        The token every request must show (``?token=``, its cookie, or ``Authorization:
        token ...``); ``None`` for none (loopback only).
    formats, timeout
        As for ``brief render``.
    """

    out_dir: Path
    data_dir: Path | None = None
    token: str | None = None
    formats: tuple[str, ...] = ("html", "pdf")
    timeout: int | None = None


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Guard:
    """ASGI middleware every request passes: Host, token, body size, security headers,
    and a plain error page instead of any traceback."""

    def __init__(self, app: ASGIApp, settings: Settings, pages: Pages) -> None:
        self.app = app
        self.settings = settings
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"content-security-policy"
                ]
                headers += [
                    (b"content-security-policy", security.CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cache-control", b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        token = self.settings.token
        given = request.query_params.get("token")
        if token and security.same(given, token):
            # Shown once in the address: keep it in a cookie and drop it from the URL.
            target = request.url.remove_query_params("token")
            location = target.path + (f"?{target.query}" if target.query else "")
            response = RedirectResponse(location, 303)
            response.set_cookie(
                security.TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/"
            )
            await response(scope, receive, send_with_headers)
            return
        limited = _limit_body(receive, security.MAX_BODY)
        try:
            await self.app(scope, limited, send_with_headers)
        except _TooLarge:
            await self.pages.error(413, "The request is too large.")(
                scope, receive, send_with_headers
            )
        except Exception:
            log.exception("brief serve: %s %s failed", request.method, request.url.path)
            await self.pages.error(500, SERVER_FAILED)(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> Response | None:
        token = self.settings.token
        if not security.host_allowed(request.headers.get("host", ""), token_required=bool(token)):
            return self.pages.error(400, "This server answers only to its loopback address.")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > security.MAX_BODY):
            return self.pages.error(413, "The request is too large.")
        if token:
            shown = request.query_params.get("token") or request.cookies.get(security.TOKEN_COOKIE)
            header = request.headers.get("authorization", "")
            if header.lower().startswith("token "):
                shown = shown or header[6:].strip()
            if not security.same(shown, token):
                return self.pages.error(
                    403, "A token is required: open the address the server printed."
                )
        return None


class _TooLarge(Exception):
    pass


def _limit_body(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message

    return limited


class Pages:
    """The application's pages, rendered from ``templates/serve/``."""

    def __init__(self, settings: Settings, renderer: Renderer | None) -> None:
        self.settings = settings
        self.renderer = renderer
        self.env = _env()

    def page(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=code)

    def error(self, status: int, message: str, **headers: str) -> HTMLResponse:
        response = self.page("error.html.j2", status, status=status, message=message)
        response.headers.update(headers)
        return response

    # -- the routes ------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        notebooks = []
        for path in paths.report_notebooks():
            try:
                model = schema_for(path)
            except ParameterError:
                continue
            notebooks.append(
                {
                    "name": path.stem,
                    "title": model.default_title.format(partner="a partner"),
                    "description": forms.describe_notebook(model),
                    "subtitle": model.subtitle,
                }
            )
        return self.page("index.html.j2", notebooks=notebooks)

    def _model(self, notebook: str) -> type[BaseParams] | None:
        known = {p.stem for p in paths.report_notebooks()}
        return SCHEMAS.get(notebook) if notebook in known else None

    def _form(
        self,
        request: Request,
        notebook: str,
        model: type[BaseParams],
        *,
        given: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        csrf = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf()
        items = forms.fields(model, given)
        for item in items:
            item.error = (errors or {}).get(item.name)
        response = self.page(
            "form.html.j2",
            status,
            notebook=notebook,
            description=forms.describe_notebook(model),
            fields=items,
            general=(errors or {}).get(""),
            csrf=csrf,
            csrf_field=security.CSRF_FIELD,
        )
        response.set_cookie(security.CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return response

    async def form(self, request: Request) -> Response:
        notebook = request.path_params["notebook"]
        model = self._model(notebook)
        if model is None:
            return self.error(404, f"No notebook named {notebook!r}.")
        return self._form(request, notebook, model)

    async def submit(self, request: Request) -> Response:
        notebook = request.path_params["notebook"]
        model = self._model(notebook)
        if model is None:
            return self.error(404, f"No notebook named {notebook!r}.")
        host = request.headers.get("host", "")
        if not security.origin_ok(
            request.headers.get("origin"), request.headers.get("referer"), host, request.url.scheme
        ):
            return self.error(403, "Refused: this form was not sent from this server's page.")
        form = await request.form()
        if not security.same(
            str(form.get(security.CSRF_FIELD) or ""), request.cookies.get(security.CSRF_COOKIE)
        ):
            return self.error(403, "Refused: the form's CSRF token is missing or wrong.")
        raw = forms.values(model, form)
        refused = forms.refused_server_set(raw)
        where = f"{notebook}.ipynb"
        errors = forms.problems(model, raw, where)
        if refused:
            errors[""] = "; ".join([*refused, *([errors[""]] if "" in errors else [])])
        shown = {k: v for k, v in raw.items() if k in model.model_fields}
        if errors:
            return self._form(request, notebook, model, given=shown, errors=errors, status=422)
        return await self._render(request, notebook, model, raw, shown)

    async def _render(
        self,
        request: Request,
        notebook: str,
        model: type[BaseParams],
        raw: dict[str, Any],
        shown: dict[str, Any],
    ) -> Response:
        settings = self.settings
        params = {k: v for k, v in raw.items() if k not in forms.SERVER_SET}
        try:
            jobs = await asyncio.to_thread(
                prepare,
                RenderRequest(
                    [notebook],
                    parameters=params,
                    formats=settings.formats,
                    data_dir=settings.data_dir,
                    out_dir=settings.out_dir,
                    timeout=settings.timeout,
                ),
            )
        except ParameterError as exc:
            return self._form(
                request, notebook, model, given=shown, errors={"": str(exc)}, status=422
            )
        except BriefError as exc:
            return self.error(500, f"The brief cannot be made: {_first_lines(str(exc))}")
        if self.renderer is None:
            return self.error(503, "This server renders nothing.")
        try:
            future = self.renderer.submit(jobs[0])
        except QueueFull as exc:
            return self.error(503, str(exc), **{"Retry-After": str(exc.retry_after)})
        except Stopping as exc:
            return self.error(503, str(exc), **{"Retry-After": "30"})
        # The brief's page as soon as its HTML is there (its PDF still being made), or
        # when the render is done, whichever comes first.
        if await self.renderer.html_or_done(future):
            return RedirectResponse(f"/brief/{notebook}/{jobs[0].run}", 303)
        if future.cancelled():
            return self.error(503, "The server stopped before this brief was rendered.")
        result = future.result()
        if not result.ok:
            return self._failed(result)
        return RedirectResponse(f"/brief/{notebook}/{result.run}", 303)

    def _failed(self, result: RunResult) -> HTMLResponse:
        """The page of a render that failed: what failed, and that nothing was published."""
        timed_out = (
            "timeout" in (result.error or "").lower() or "timed out" in (result.error or "").lower()
        )
        message = (
            "The brief was stopped: it ran past the timeout. Nothing was published."
            if timed_out
            else f"The brief failed ({result.phase}): {_first_lines(result.error or '')}. "
            "Nothing was published; the previous edition is untouched."
        )
        return self.error(504 if timed_out else 500, message)

    async def brief(self, request: Request) -> Response:
        notebook, run = request.path_params["notebook"], request.path_params["run"]
        # What renders is looked at before the folder: a render that ends meanwhile is then
        # found published, or among the failures.
        rendering = self._rendering(notebook, run)
        if WAIT in request.query_params:
            # The preview's refresh: held until the render ends (or a while), so that the
            # reader's page is replaced once, by the edition, not every few seconds.
            if rendering is not None:
                await asyncio.wait({asyncio.wrap_future(rendering)}, timeout=WAIT_SECONDS)
            if rendering is None or rendering.done():
                return RedirectResponse(f"/brief/{notebook}/{run}", 303)
        folder = self._run_folder(notebook, run)
        if folder is None:
            return self._unpublished(notebook, run, rendering)
        manifest = _manifest(folder)
        files = {p.suffix.lstrip("."): p.name for p in sorted(folder.iterdir()) if p.is_file()}
        summary = EditionSummary.from_json((manifest or {}).get("edition"))
        since = summary.previous
        # A ledger names the edition it follows as "notebook/run".
        previous = str(since.get("run") or "").rpartition("/")[2] if since is not None else ""
        return self.page(
            "brief.html.j2",
            notebook=notebook,
            run=run,
            title=((manifest or {}).get("parameters") or {}).get("title") or notebook,
            base=f"/out/{notebook}/{run}/",
            files=files,
            previous=previous,
            since=since if since is not None else {},
            changes=summary.changes,
            editions=self._editions(notebook, manifest),
        )

    def _rendering(self, notebook: str, run: str) -> Future[RunResult] | None:
        """The render of ``notebook``'s ``run`` in flight, if any."""
        if self.renderer is None or self._model(notebook) is None or not _RUN.fullmatch(run):
            return None
        return self.renderer.in_flight(notebook, run)

    def _unpublished(
        self, notebook: str, run: str, rendering: Future[RunResult] | None
    ) -> Response:
        """The page of a brief with no edition (yet): its preview while its PDF is made, how
        it failed after its preview was shown, or 404."""
        renderer = self.renderer
        if rendering is not None and renderer is not None and renderer.preview(notebook, run):
            return self.page(
                "brief.html.j2",
                notebook=notebook,
                run=run,
                preview=f"/preview/{notebook}/{run}",
                refresh=f"/brief/{notebook}/{run}?{WAIT}",
            )
        failure = renderer.failure(notebook, run) if renderer is not None else None
        if isinstance(failure, RunResult):
            return self._failed(failure)
        if failure is not None:  # the render broke: its page says what the POST would have
            return self.error(500, SERVER_FAILED)
        return self.error(404, "No such brief.")

    async def preview(self, request: Request) -> Response:
        """The HTML of a brief whose PDF is being made, from memory: only while its render
        is in flight (:meth:`~.jobs.Renderer.preview`), never a file."""
        notebook, run = request.path_params["notebook"], request.path_params["run"]
        html = None
        if self._rendering(notebook, run) is not None and self.renderer is not None:
            html = self.renderer.preview(notebook, run)
        if html is None:
            return self.error(404, "Not found.")
        return Response(html, media_type="text/html; charset=utf-8")

    async def diff(self, request: Request) -> Response:
        notebook, run = request.path_params["notebook"], request.path_params["run"]
        old = request.path_params["old"]
        new_folder, old_folder = self._run_folder(notebook, run), self._run_folder(notebook, old)
        if new_folder is None or old_folder is None:
            return self.error(404, "No such edition.")
        try:
            changes = await asyncio.to_thread(compare_runs, old_folder, new_folder)
        except BriefError as exc:
            return self.error(422, _first_lines(str(exc)))
        return self.page("diff.html.j2", notebook=notebook, run=run, old=old, text=as_text(changes))

    async def files(self, request: Request) -> Response:
        path = security.safe_path(self.settings.out_dir, request.path_params["path"])
        if path is None:
            return self.error(404, "Not found.")
        return FileResponse(path)

    # -- helpers ---------------------------------------------------------------------------

    def _run_folder(self, notebook: str, run: str) -> Path | None:
        if self._model(notebook) is None or not _RUN.fullmatch(run):
            return None
        folder = security.safe_path(self.settings.out_dir, f"{notebook}/{run}/manifest.json")
        return folder.parent if folder is not None else None

    def _editions(self, notebook: str, manifest: dict | None) -> list[dict[str, Any]]:
        if not manifest:
            return []
        key = series_key(notebook, manifest.get("parameters") or {})
        found = []
        folder = self.settings.out_dir / notebook
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            if entry.name.startswith(".") or not _RUN.fullmatch(entry.name):
                continue
            other = _manifest(entry)
            if not other:
                continue
            parameters = other.get("parameters") or {}
            if series_key(notebook, parameters) == key:
                found.append({"run": entry.name, "date": edition_date(parameters)})
        return sorted(found, key=lambda item: item["date"])


def _manifest(folder: Path) -> dict | None:
    try:
        loaded = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _first_lines(text: str, lines: int = 3) -> str:
    """A message cut before anything that looks like a traceback."""
    kept = []
    for line in text.strip().splitlines():
        if line.startswith(("Traceback", "---", "  File ", "Cell In")):
            break
        kept.append(line)
        if len(kept) == lines:
            break
    return " ".join(kept)[:600] or "see the server's log"


def create_app(settings: Settings, renderer: Renderer | None = None) -> Starlette:
    """The application for ``settings``, rendering through ``renderer``.

    Parameters
    ----------
    settings
        What to serve and how (:class:`Settings`).
    renderer
        A started :class:`~.jobs.Renderer`; the caller starts and stops it (``brief serve``
        does, around the server). ``None``: forms and files only, every submit answered 503.
    """
    pages = Pages(settings, renderer)
    routes = [
        Route("/", pages.start),
        Route("/notebook/{notebook}", pages.form, methods=["GET"]),
        Route("/notebook/{notebook}", pages.submit, methods=["POST"]),
        Route("/brief/{notebook}/{run}", pages.brief),
        Route("/brief/{notebook}/{run}/since/{old}", pages.diff),
        Route("/preview/{notebook}/{run}", pages.preview, methods=["GET", "HEAD"]),
        Route("/out/{path:path}", pages.files, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=TEMPLATES / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return pages.error(status, "Not found." if status == 404 else "Refused.")

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.add_middleware(Guard, settings=settings, pages=pages)
    return app
