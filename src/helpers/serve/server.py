"""Run ``brief serve``: the renderer, the application and uvicorn, and a clean stop.

:func:`serve` is what the command calls. It refuses a host that is not loopback without a
token, before anything starts; takes the output folder's lock and starts the zygote
(:class:`~.jobs.Renderer`); prints the address (with the token, as Jupyter does); and serves
until SIGINT or SIGTERM. Then it answers no new render, cancels the ones waiting, lets the
running ones finish (each publishes whole or not at all) and stops the zygote and its
kernels. It returns 0, or 130 when a render was cancelled.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from helpers.errors import UsageError
from helpers.serve import security
from helpers.serve.app import Settings, create_app
from helpers.serve.jobs import Renderer

#: Exit status when a render was cancelled by the stop (as ``brief render`` stopped by Ctrl-C).
CANCELLED = 130


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    out_dir: Path,
    data_dir: Path | None = None,
    workers: int = 1,
    queue: int = 4,
    token: str | None = None,
    timeout: int | None = None,
    formats: tuple[str, ...] = ("html", "pdf"),
    warm: bool = True,
    echo: Callable[[str], Any] = print,
) -> int:
    """Serve the form and the briefs until stopped; return the exit status.

    Raises
    ------
    UsageError
        A bad ``--workers``, ``--queue``, ``--port`` or ``--token`` (exit 2).
    LockHeldError
        Another run holds ``out_dir`` (exit 75); nothing was started.
    """
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if queue < 0:
        raise UsageError(f"--queue must be 0 or more, not {queue}")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {port}")
    required = security.need_token(host, token)
    renderer = Renderer(
        Path(out_dir), workers=workers, queue=queue, warm=warm, kernels_ahead=True
    ).start()
    try:
        settings = Settings(
            out_dir=renderer.out_dir,
            data_dir=data_dir,
            token=required,
            formats=formats,
            timeout=timeout,
        )
        app = create_app(settings, renderer)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            lifespan="off",
            limit_concurrency=64,
            timeout_graceful_shutdown=None,
        )
        server = _Server(config, renderer, lambda bound: echo(_address(host, bound, required)))
        server.run()
    finally:
        cancelled = renderer.stop()
    return CANCELLED if cancelled else 0


def _address(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if token:
        url += f"?token={token}"
    return f"brief serve: open {url}  (Ctrl-C to stop)"


class _Server(uvicorn.Server):
    """uvicorn's server, whose stop first turns away new renders and cancels the waiting
    ones, which prints its address once bound, and which does not re-raise the signal on its
    way out (so ``brief serve`` exits 0 or 130, as its README says)."""

    def __init__(self, config: uvicorn.Config, renderer: Renderer, announce: Callable) -> None:
        super().__init__(config)
        self.renderer = renderer
        self.announce = announce

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        before = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.renderer.close()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        for server in self.servers:
            for sock in server.sockets:
                self.announce(sock.getsockname()[1])
                return
