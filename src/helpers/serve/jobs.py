"""The bounded render queue behind ``brief serve``, over the library's own render call.

:class:`Renderer` holds, for the server's life, what ``brief render`` holds for one run: the
output folder's lock (:func:`helpers.pipeline.publish.locked`, so a ``brief render`` or
``brief batch`` into the same folder meanwhile exits 75, as with any other run) and one warm
zygote (:func:`helpers.pipeline.render.warm_zygote`), from which each render's kernel is
forked. Renders go through :func:`helpers.pipeline.render.render_job` (execute, HTML, PDF,
atomic publish, failures archived) in at most ``workers`` threads, with at most ``queue``
more waiting; past that :meth:`Renderer.submit` raises :class:`QueueFull`. The same brief
asked twice at once is rendered once. :meth:`Renderer.stop` cancels what waits, lets what
runs finish (nothing is ever half published), and stops the zygote and its kernels.

While a brief's PDF is made, its HTML is already staged (the pipeline says so through
:meth:`helpers.pipeline.progress.Reporter.staged`): the renderer keeps those bytes in memory for
as long as the render is in flight (:meth:`Renderer.preview`), so the server can show the brief
before its edition is published; :meth:`Renderer.html_or_done` waits for whichever comes first.
The edition itself is still published whole, after the PDF, or not at all; a render that fails
after its HTML was shown is remembered (the last :data:`KEPT_FAILURES`,
:meth:`Renderer.failure`) so the brief's page can say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_core.utils import ensure_event_loop

from helpers import paths
from helpers.errors import BriefError
from helpers.pipeline import index, publish
from helpers.pipeline.feeds import update_feeds
from helpers.pipeline.progress import Reporter
from helpers.pipeline.render import preload, render_job, warm_zygote
from helpers.pipeline.request import Job, RunResult

if TYPE_CHECKING:
    from helpers.pipeline.kernel_ahead import StartedKernel

__all__ = ["KEPT_FAILURES", "SERVER_WARM_ENTRIES", "QueueFull", "Renderer", "Stopping"]

log = logging.getLogger(__name__)

#: Renders that failed after their HTML was shown, remembered for their brief's page.
KEPT_FAILURES = 50

#: What the server's zygote does besides the usual warm imports: it makes the main brief once
#: (:func:`helpers.report.first_use.make_sample_brief`), so that each kernel forked from it
#: finds the caches a first brief fills already filled. 1.5 to 2 s more before the zygote is
#: ready, once per server; ``brief render`` and ``brief batch`` do not pay it.
SERVER_WARM_ENTRIES: tuple[str, ...] = ("helpers.report.first_use:make_sample_brief",)


class QueueFull(BriefError):
    """Every worker is busy and the queue behind them is full: try again later (HTTP 503)."""

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Stopping(BriefError):
    """The server is stopping: the render was cancelled before it started (HTTP 503)."""

    exit_code = 130


@dataclasses.dataclass
class _Flight:
    """One render in flight: its future and, once staged, the brief's HTML."""

    future: Future[RunResult]
    #: Whether the HTML is shown before the edition is published: only when a PDF follows.
    previews: bool
    #: Done when the HTML is in :attr:`html`; cancelled if the render ends before that.
    staged: Future[None] = dataclasses.field(default_factory=Future)
    html: bytes | None = None


class _Staging(Reporter):
    """The reporter a serve render runs with: keeps its staged HTML in its flight."""

    def __init__(self, flight: _Flight) -> None:
        self._flight = flight

    def staged(self, notebook: str, run: str, fmt: str, path: Path) -> None:
        flight = self._flight
        if fmt != "html" or not flight.previews or flight.staged.done():
            return
        # Read now: the staging folder goes when the render ends. A file that cannot be read
        # only costs the preview; the render goes on.
        try:
            flight.html = path.read_bytes()
        except OSError:
            log.warning("brief serve: %s/%s: its staged HTML cannot be read", notebook, run)
            return
        flight.staged.set_result(None)


class Renderer:
    """At most ``workers`` renders at once, ``queue`` more waiting, one zygote for all.

    Parameters
    ----------
    out_dir
        The output folder (``--out``); locked from :meth:`start` to :meth:`stop`.
    workers
        Renders at once (``--workers``).
    queue
        Renders that may wait behind them (``--queue``).
    warm
        Fork kernels from a warm zygote kept for the server's life (off: ``--cold``).
    run_job
        What renders one job, called as ``run_job(job, reporter)``:
        :func:`helpers.pipeline.render.render_job`. A test passes one that holds a render on
        purpose.
    kernels_ahead
        Keep one kernel started ahead (:mod:`helpers.pipeline.kernel_ahead`) for the next
        render, which then starts no kernel of its own: a new one is started as soon as a
        render takes it. ``run_job`` is then called as ``run_job(job, reporter,
        kernel=...)``, and must end the kernel it is given. ``brief serve`` turns it on.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        workers: int = 1,
        queue: int = 4,
        warm: bool = True,
        run_job: Callable[..., RunResult] = render_job,
        kernels_ahead: bool = False,
    ) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be at least 1 and queue at least 0")
        self.out_dir = Path(out_dir)
        self.workers = workers
        self.queue = queue
        self.warm = warm
        self._run_job = run_job
        self.kernels_ahead = kernels_ahead
        self._mutex = threading.Lock()
        self._index_lock = threading.Lock()
        self._inflight: dict[tuple[str, str], _Flight] = {}
        self._failures: OrderedDict[tuple[str, str], RunResult | str] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None
        self._stack = contextlib.ExitStack()
        self._address: Callable[[], str | None] = lambda: None
        self._stopping = False
        #: Renders cancelled by :meth:`stop` before they ran.
        self.cancelled = 0
        #: Average seconds of a finished render, for Retry-After.
        self._seconds = 10.0
        #: The kernel started ahead for the next render, and the thread that starts them.
        self._spare: StartedKernel | None = None
        self._spare_folder = paths.NOTEBOOKS_DIR
        self._starter: ThreadPoolExecutor | None = None

    def start(self) -> Renderer:
        """Take the output folder's lock and start the zygote. Call from the main thread,
        which must outlive the renders: the zygote stops when the thread that started it
        ends.

        Raises
        ------
        LockHeldError
            Another run holds the output folder (exit 75); nothing was touched.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = self._stack.enter_context(publish.locked(self.out_dir))
        try:
            self._address = self._stack.enter_context(
                warm_zygote(self.warm, then=SERVER_WARM_ENTRIES)
            )
        except BaseException:
            self._stack.close()
            raise
        from helpers.pipeline.export import warm_up_pdf_in_background  # noqa: PLC0415

        # What the first render would pay (nbconvert's template, per thread; WeasyPrint's
        # fonts), paid while the zygote imports instead.
        preload()
        warm_up_pdf_in_background()
        self._pool = ThreadPoolExecutor(
            self.workers, thread_name_prefix="brief-render", initializer=_warm_thread
        )
        if self.kernels_ahead:
            self._starter = ThreadPoolExecutor(1, thread_name_prefix="brief-kernel-ahead")
            self._start_spare()
        return self

    @property
    def kernel_ahead(self) -> int | None:
        """The pid of the kernel started ahead for the next render, if one is ready."""
        with self._mutex:
            spare = self._spare
        return getattr(spare.manager.provisioner, "pid", None) if spare is not None else None

    @property
    def pending(self) -> int:
        """Renders running or waiting."""
        with self._mutex:
            return len(self._inflight)

    def retry_after(self) -> int:
        """Seconds a client turned away should wait: about one render's time."""
        return max(1, round(self._seconds))

    def submit(self, job: Job) -> Future[RunResult]:
        """Queue ``job``; return the future of its :class:`RunResult`.

        Raises
        ------
        QueueFull
            ``workers`` renders run and ``queue`` wait already.
        Stopping
            :meth:`stop` was called.
        """
        key = (job.name, job.run)
        with self._mutex:
            if self._stopping or self._pool is None:
                raise Stopping("the server is stopping; nothing was rendered")
            if key in self._inflight:  # the same brief, asked again while it renders
                return self._inflight[key].future
            if len(self._inflight) >= self.workers + self.queue:
                raise QueueFull(
                    f"{self.workers} render(s) running and {self.queue} waiting: try again shortly",
                    self.retry_after(),
                )
            flight = _Flight(Future(), previews="pdf" in job.formats)
            future = self._pool.submit(self._run, job, flight)
            flight.future = future
            self._inflight[key] = flight
            self._failures.pop(key, None)  # asked again: what failed before is not this render
        future.add_done_callback(lambda _f: self._forget(key, flight))
        return future

    def _forget(self, key: tuple[str, str], flight: _Flight) -> None:
        with self._mutex:
            if self._inflight.get(key) is flight:
                del self._inflight[key]
        flight.staged.cancel()  # the render ended before its HTML was staged, if it was
        flight.html = None  # the edition is published, or nothing is: no preview any more

    async def html_or_done(self, future: Future[RunResult]) -> bool:
        """Wait until the brief ``future`` renders has its HTML staged or is done, whichever
        comes first; True if the HTML can be shown (:meth:`preview`) while the render goes on.

        Always False for a render without a PDF (``--to html``): its edition is published as
        soon as its HTML is made. Cancelling the wait cancels no render.
        """
        with self._mutex:
            flight = next((f for f in self._inflight.values() if f.future is future), None)
        waits = {asyncio.wrap_future(future)}
        if flight is not None and flight.previews:
            waits.add(asyncio.wrap_future(flight.staged))
        # asyncio.wait, not the futures themselves: a wait cancelled (the client went away)
        # must not cancel the render, which another request may share.
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        return not future.done() and flight is not None and flight.html is not None

    def in_flight(self, notebook: str, run: str) -> Future[RunResult] | None:
        """The future of ``notebook``'s ``run`` while it renders or waits; else None."""
        with self._mutex:
            flight = self._inflight.get((notebook, run))
        return flight.future if flight is not None else None

    def preview(self, notebook: str, run: str) -> bytes | None:
        """The HTML of ``notebook``'s ``run`` while it is staged and its edition not yet
        published (its PDF being made); None otherwise, and for any other run."""
        with self._mutex:
            flight = self._inflight.get((notebook, run))
        if flight is None or flight.future.done():
            return None
        return flight.html

    def failure(self, notebook: str, run: str) -> RunResult | str | None:
        """How ``notebook``'s ``run`` failed, if it failed after its HTML was staged (one of
        the last :data:`KEPT_FAILURES`): its failed :class:`RunResult`, or the name of the
        exception that broke the render (the server's fault; its traceback is in the log);
        None otherwise."""
        with self._mutex:
            return self._failures.get((notebook, run))

    def _remember(self, key: tuple[str, str], outcome: RunResult | str) -> None:
        with self._mutex:
            self._failures[key] = outcome
            self._failures.move_to_end(key)
            while len(self._failures) > KEPT_FAILURES:
                self._failures.popitem(last=False)

    def _run(self, job: Job, flight: _Flight) -> RunResult:
        address = self._address() if self.warm else None
        if address is not None:
            job = dataclasses.replace(job, zygote=address)  # the kernel forks from it
        ahead = {}
        if self.kernels_ahead:
            ahead["kernel"] = self._take_spare(job.notebook.parent)
            self._start_spare()  # for the render after this one, while this one runs
        try:
            result = self._run_job(job, _Staging(flight), **ahead)
        except Exception as exc:
            if flight.html is not None:  # nobody may be waiting for it: its page will say
                log.error("brief serve: %s failed after its preview", job.label, exc_info=exc)
                self._remember((job.name, job.run), type(exc).__name__)  # not its frames
            raise
        finally:
            _close_thread_loop()
        if not result.ok and flight.html is not None:
            self._remember((job.name, job.run), result)
        with self._index_lock:
            # The feeds first, as brief render does: the index links to the folder's feed.
            update_feeds(self.out_dir)
            index.update_index(self.out_dir)
        self._seconds = 0.7 * self._seconds + 0.3 * result.seconds
        return result

    def _take_spare(self, folder: Path) -> StartedKernel | None:
        """The kernel started ahead, for a render of a notebook in ``folder``; the next one is
        started for that folder."""
        with self._mutex:
            kernel, self._spare = self._spare, None
            self._spare_folder = folder
        return kernel

    def _start_spare(self) -> None:
        """Have the starter thread start a kernel ahead, unless one is there or stopping."""
        with self._mutex:
            if self._starter is not None and not self._stopping:
                self._starter.submit(self._make_spare)

    def _make_spare(self) -> None:
        from helpers.kernels.provisioner import forking_config  # noqa: PLC0415
        from helpers.pipeline.kernel_ahead import start_kernel_ahead  # noqa: PLC0415

        with self._mutex:
            if self._stopping or self._spare is not None:
                return
            folder = self._spare_folder
        address = self._address() if self.warm else None
        try:
            kernel = start_kernel_ahead(
                publish.staging_dir(self.out_dir, "kernel-ahead"),
                folder,
                config=forking_config(address) if address else None,
            )
        except Exception as exc:  # the next render starts its own kernel, as without one
            log.warning("brief serve: no kernel started ahead: %s", exc)
            return
        finally:
            _close_thread_loop()
        with self._mutex:
            if not self._stopping and self._spare is None:
                self._spare = kernel
                return
        kernel.discard()

    def close(self) -> int:
        """Take no new render and cancel those waiting; the running ones go on. Returns how
        many renders were cancelled (also added to :attr:`cancelled`)."""
        with self._mutex:
            self._stopping = True
            waiting = [flight.future for flight in self._inflight.values()]
        count = sum(1 for future in waiting if future.cancel())
        self.cancelled += count
        return count

    def stop(self) -> int:
        """:meth:`close`, then wait for the running renders to finish, stop the zygote and
        its kernels, and release the lock. Returns how many renders were cancelled in all."""
        self.close()
        if self._pool is not None:
            from helpers.pipeline.export import finish_warm_up  # noqa: PLC0415

            self._pool.shutdown(wait=True, cancel_futures=True)
            finish_warm_up()  # no thread outlives the server
        if self._starter is not None:
            self._starter.shutdown(wait=True, cancel_futures=True)
        with self._mutex:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.discard()
        self._stack.close()
        return self.cancelled


def _close_thread_loop() -> None:
    """Close the event loop the kernel's client made for this render thread.

    jupyter_client's blocking calls run on one loop per thread (``jupyter_core.utils.
    ensure_event_loop``) that nothing closes; a render thread lives as long as the server, and
    its loop would be left to the garbage collector (a ``ResourceWarning``) when the thread
    ends. Closed after each render, the next one makes a new loop.
    """
    with contextlib.suppress(Exception):  # a render's outcome never depends on this
        loop = ensure_event_loop()
        if not loop.is_running():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        asyncio.set_event_loop(None)


def _warm_thread() -> None:
    """Compile the HTML template in a new render thread (:func:`~helpers.pipeline.export.
    warm_up`): its first brief then skips that work."""
    from helpers.pipeline.export import warm_up  # noqa: PLC0415

    with contextlib.suppress(Exception):  # the real render reports any problem
        warm_up()
