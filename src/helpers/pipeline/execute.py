"""Run one notebook with papermill and decide, without trusting it, whether the run succeeded.

papermill's own verdict is not enough:

* ``sys.exit(0)`` in a cell stops the run, and papermill returns normally;
* after the kernel dies (``os._exit``, a segfault, ``kill -9``, the OOM killer) papermill marks
  every cell "completed" in the notebook's metadata.

So :func:`execute_notebook` trusts only what the kernel sent back and what it watched itself:

1. papermill's and nbclient's exceptions (a cell raised, the kernel died, a cell timed out),
   with the cell that was running recorded by an ``on_cell_execute`` hook, not read back from
   metadata;
2. every code cell that is not empty must carry an ``execution_count``, and no output may be
   an ``error`` (``SystemExit`` included);
3. a *sentinel* cell appended after the last cell must have returned this run's random token.
   Only a kernel that ran every cell before it can return it.

The kernel's own stdout and stderr go to a log file instead of the terminal, and every kernel
process started for the run is killed if it is still alive when the run ends. One kernel
manager class does both for every run, :class:`RunKernelManager`, configured per run through
traitlets configuration (:func:`run_kernel_options`), the way nbclient makes its manager: the
log's path, and a run id under which it records the kernel processes it starts
(:func:`take_launched`). Its clients (:class:`RunKernelClient`) remove the kernel's connection
file once the kernel answers.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import psutil
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_client.manager import KernelManager
from nbformat import NotebookNode
from traitlets import DottedObjectName, Type, Unicode
from traitlets.config import Config

from helpers import paths
from helpers.errors import ExecutionError, KernelStartError
from helpers.kernels.provisioner import ForkingKernelManager

#: Tag of the cell appended to detect a run that stopped early; removed after the run.
SENTINEL_TAG = "brief-sentinel"
#: Tags of cells papermill adds: the injected parameters and the error markers.
PAPERMILL_TAGS = ("injected-parameters", "papermill-error-cell-tag")
#: nbclient skips cells with this tag; they are expected not to run.
SKIP_TAG = "skip-execution"
#: papermill's name for :func:`_run_engine`'s engine, registered when a run starts.
ENGINE_NAME = "brief"
#: How nbclient ends the kernel after the last cell: "immediate" kills it (its exit handlers
#: do not run); "graceful" asks it to shut down and waits for it to exit. Stopped, not asked
#: to shut down, once the sentinel cell has answered: every output is in by then, and a
#: graceful shutdown (the kernel's exit handlers, IPython's history, the interpreter's
#: teardown, polled every 0.1 s) kept each brief waiting about 0.8 s more.
KERNEL_SHUTDOWN = "immediate"

#: The most output one cell keeps in the executed notebook, in bytes of text: a cell that
#: prints 200 MB would otherwise be published (and archived) with all of it.
MAX_CELL_OUTPUT = 10 * 1024 * 1024
#: Where :func:`cap_outputs` lists the cells it cut, in ``nb.metadata["brief"]``; the house
#: exporters say so in the brief's colophon.
CUT_KEY = "outputs_cut"

__all__ = [
    "CUT_KEY",
    "MAX_CELL_OUTPUT",
    "SENTINEL_TAG",
    "RunKernelClient",
    "RunKernelManager",
    "cap_outputs",
    "execute_notebook",
    "find_failure",
    "kill_launched",
    "run_kernel_options",
    "take_launched",
]


def execute_notebook(
    notebook: Path | str,
    output_path: Path | str,
    parameters: Mapping[str, Any] | None = None,
    *,
    timeout: int | None = 600,
    cwd: Path | str | None = None,
    kernel_name: str = paths.KERNEL_NAME,
    kernel_log: Path | str | None = None,
    start_timeout: int = 60,
    config: Config | None = None,
    kernel: RunKernelManager | None = None,
) -> NotebookNode:
    """Execute a notebook with papermill and check that every cell ran.

    Parameters
    ----------
    notebook
        The notebook to run. It is not modified.
    output_path
        Where the executed notebook is written, on success *and* on failure (then with the
        error output and papermill's error markers, for debugging). The sentinel cell is
        removed from it.
    parameters
        Values papermill injects after the cell tagged ``parameters``; already validated.
    timeout
        Seconds any one cell may run; ``None`` for no limit.
    cwd
        Working directory of the kernel. Default: the notebook's folder, as in Jupyter.
    kernel_name
        The Jupyter kernel to run on.
    kernel_log
        File that receives the kernel's stdout and stderr. Default: ``<output_path>.kernel.log``.
    start_timeout
        Seconds to wait for the kernel to start.
    config
        traitlets configuration for nbclient and the kernel manager it makes (a
        :class:`RunKernelManager`), for example the zygote's address to fork the kernel from
        (:func:`helpers.kernels.provisioner.forking_config`). Default: a kernel started from
        its kernelspec.
    kernel
        The manager of a kernel started ahead for this run, that has run nothing
        (:func:`helpers.pipeline.kernel_ahead.start_kernel_ahead`): the cells go to it, no
        kernel is started, and ``kernel_name``, ``kernel_log``, ``start_timeout`` and
        ``config`` are not used. It is ended as a kernel started here would be, with every
        process recorded under its :attr:`~RunKernelManager.run_id`. The caller checks that
        it fits (:meth:`~helpers.pipeline.kernel_ahead.StartedKernel.fits`).

    Returns
    -------
    NotebookNode
        The executed notebook, as written to ``output_path``.

    Raises
    ------
    ExecutionError
        A cell raised (``SystemExit`` too), the kernel died or could not start, a cell timed
        out, or a code cell never ran. The message names the cell by its position in the
        notebook and its first line.
    KernelStartError
        The subclass raised when the run failed before any cell began (the kernel died or
        timed out while starting): nothing ran, so trying again is safe.
    """
    import papermill  # noqa: PLC0415
    from papermill.engines import papermill_engines  # noqa: PLC0415

    papermill_engines.register(ENGINE_NAME, _run_engine())

    notebook = Path(notebook)
    output_path = Path(output_path)
    kernel_log = Path(kernel_log) if kernel_log else output_path.with_suffix(".kernel.log")
    cwd = Path(cwd) if cwd else notebook.resolve().parent
    token = f"brief-run-complete-{uuid.uuid4().hex}"

    prepared = nbformat.read(notebook, as_version=4)
    prepared.cells.append(_sentinel_cell(token))
    prepared_path = output_path.with_name(output_path.stem + ".input.ipynb")
    nbformat.write(prepared, prepared_path)

    running: dict[str, int | None] = {"index": None}

    def on_cell_execute(cell: NotebookNode, cell_index: int) -> None:
        running["index"] = cell_index

    run_id, kernel_options = _kernel_options(kernel, kernel_log, config)
    raised: BaseException | None = None
    try:
        papermill.execute_notebook(
            str(prepared_path),
            str(output_path),
            parameters=dict(parameters or {}),
            kernel_name=kernel_name,
            language="python",  # the project's kernel; notebooks built in code may lack metadata
            engine_name=ENGINE_NAME,
            cwd=str(cwd),
            execution_timeout=timeout,
            start_timeout=start_timeout,
            log_output=False,
            progress_bar=False,
            on_cell_execute=on_cell_execute,
            shutdown_kernel=KERNEL_SHUTDOWN,  # stopped once the sentinel cell has answered
            **kernel_options,
        )
    except Exception as exc:  # a cell raised, the kernel died or never started, a timeout, ...
        raised = exc
    finally:
        kill_launched(run_id)
        prepared_path.unlink(missing_ok=True)

    executed = _read_executed(output_path, fallback=prepared)
    _restore_metadata(executed, notebook)
    problem = find_failure(executed, token)
    executed.cells = [c for c in executed.cells if SENTINEL_TAG not in _tags(c)]
    cap_outputs(executed)
    nbformat.write(executed, output_path)

    if raised is None and problem is None:
        return executed
    name = notebook.name
    message = _describe(raised, problem, executed, running["index"], timeout, kernel_name)
    # Failing before the first cell began means the kernel did not start (a port clash, say):
    # nothing ran, so a batch may safely try again. A missing kernelspec will not get better.
    start_failed = (
        raised is not None and running["index"] is None and not isinstance(raised, NoSuchKernel)
    )
    cls = KernelStartError if start_failed else ExecutionError
    raise cls(f"{name}: {message}") from raised


def _kernel_options(
    kernel: RunKernelManager | None, kernel_log: Path, config: Config | None
) -> tuple[str, dict[str, Any]]:
    """The run id, and papermill's options: the kernel started ahead, or how to start one."""
    if kernel is not None:
        return kernel.run_id, {"km": kernel}
    run_id = uuid.uuid4().hex
    return run_id, run_kernel_options(kernel_log, run_id, config)


def _execute_managed(
    nb_man: Any,
    kernel_name: str,
    log_output: bool = False,
    stdout_file: Any = None,
    stderr_file: Any = None,
    start_timeout: int = 60,
    execution_timeout: int | None = None,
    **kwargs: Any,
) -> NotebookNode:
    """papermill's ``NBClientEngine.execute_managed_notebook``, with one change: the client
    ends the kernel when the run ends (``cleanup_kc``), also a kernel it was given (``km``,
    :mod:`helpers.pipeline.kernel_ahead`), which nbclient otherwise leaves running with its
    client's channels open."""
    from papermill.clientwrap import PapermillNotebookClient  # noqa: PLC0415
    from papermill.engines import logger  # noqa: PLC0415
    from papermill.utils import merge_kwargs, remove_args  # noqa: PLC0415

    kwargs = remove_args(["input_path"], **kwargs)
    safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
    final_kwargs = merge_kwargs(
        safe_kwargs,
        timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
        startup_timeout=start_timeout,
        kernel_name=kernel_name,
        log=logger,
        log_output=log_output,
        stdout_file=stdout_file,
        stderr_file=stderr_file,
    )
    return PapermillNotebookClient(nb_man, **final_kwargs).execute(cleanup_kc=True)


@functools.cache
def _run_engine() -> type:
    """papermill's nbclient engine, saving the executed notebook less often (:data:`ENGINE_NAME`).

    papermill writes the whole notebook, validated against its schema, when each cell starts
    and when it ends: 34 writes of a growing notebook for the main brief, between its cells,
    about 0.3 s of each run. This engine writes it when the run starts, when it ends (also on
    failure: papermill's ``finally``), when a cell fails, and every ``autosave_cell_every``
    seconds during a long cell, as papermill does: what a failed run leaves to read is the same.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager  # noqa: PLC0415

    class RunExecutionManager(NotebookExecutionManager):
        """papermill's manager, without the save at each cell's start and end."""

        _saving = True

        def save(self, **kwargs: Any) -> None:
            if self._saving:
                super().save(**kwargs)

        def cell_start(self, cell: NotebookNode, cell_index: int | None = None, **kw: Any) -> None:
            with self._not_saving():
                super().cell_start(cell, cell_index, **kw)

        def cell_complete(
            self, cell: NotebookNode, cell_index: int | None = None, **kw: Any
        ) -> None:
            with self._not_saving():
                super().cell_complete(cell, cell_index, **kw)

        @contextlib.contextmanager
        def _not_saving(self) -> Iterator[None]:
            self._saving = False
            try:
                yield
            finally:
                self._saving = True

    class RunEngine(NBClientEngine):
        """papermill's ``Engine.execute_notebook`` with :class:`RunExecutionManager`, and its
        ``execute_managed_notebook`` ending the kernel also when it was started ahead."""

        execute_managed_notebook = classmethod(
            lambda cls, nb_man, kernel_name, **kw: _execute_managed(nb_man, kernel_name, **kw)
        )

        @classmethod
        def execute_notebook(
            cls,
            nb: NotebookNode,
            kernel_name: str,
            output_path: str | None = None,
            progress_bar: bool = True,
            log_output: bool = False,
            autosave_cell_every: int = 30,
            **kwargs: Any,
        ) -> NotebookNode:
            nb_man = RunExecutionManager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    return RunEngine


def cap_outputs(nb: NotebookNode, limit: int | None = None) -> list[dict[str, int]]:
    """Cut each code cell's outputs to ``limit`` bytes of text (default
    :data:`MAX_CELL_OUTPUT`), in place.

    Outputs are kept in order while they fit; a stream output that crosses the limit keeps
    its beginning and says how much was cut; any output after it goes. Each cut cell is
    listed in ``nb.metadata["brief"][CUT_KEY]`` as ``{"cell": n, "bytes": total, "kept":
    kept}`` (``n`` counts cells from 1, as error messages do), for the colophon.

    Returns
    -------
    list of dict
        The cells cut, as listed.
    """
    limit = MAX_CELL_OUTPUT if limit is None else limit
    cut = []
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        sizes = [_output_size(output) for output in cell.outputs]
        total = sum(sizes)
        if total <= limit:
            continue
        kept, room = [], limit
        for output, size in zip(cell.outputs, sizes, strict=True):
            if size <= room:
                kept.append(output)
                room -= size
                continue
            if output.output_type == "stream" and room > 0:
                text = output.text[:room]
                output.text = f"{text}\n[... cut: this cell's output came to {total:,} bytes; "
                output.text += f"the executed notebook keeps {limit:,}]\n"
                kept.append(output)
                room = 0
            break
        cell.outputs = kept
        cut.append({"cell": number, "bytes": total, "kept": limit - room})
    if cut:
        nb.metadata.setdefault("brief", {})[CUT_KEY] = cut
    return cut


def _output_size(output: NotebookNode) -> int:
    if output.output_type == "stream":
        return len(output.get("text", ""))
    data = output.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values()) + (
        len(json.dumps(output.get("traceback", []))) if output.output_type == "error" else 0
    )


def find_failure(nb: NotebookNode, token: str | None = None) -> str | None:
    """Say why an executed notebook is not a complete run, or return ``None`` if it is.

    Checks, in order: an ``error`` output (``SystemExit`` included), a non-empty code cell
    without ``execution_count``, and, when ``token`` is given, a sentinel cell that did not
    return it. The notebook's papermill metadata is ignored on purpose.

    Parameters
    ----------
    nb
        The executed notebook.
    token
        The token the sentinel cell returns; ``None`` to skip that check.

    Returns
    -------
    str or None
        One sentence naming the first problem and its cell.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = _cell_label(nb, index)
                return f"{where} raised {output.get('ename')}: {output.get('evalue')}"
    code_cells = [
        (index, cell)
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and SKIP_TAG not in _tags(cell)
    ]
    for index, cell in code_cells:
        if cell.get("execution_count") is None:
            if SENTINEL_TAG in _tags(cell):
                return "the run stopped after the last cell before it could confirm completion"
            return f"{_cell_label(nb, index)} never ran: the run stopped before it"
    if token is not None:
        sentinel = [cell for _, cell in code_cells if SENTINEL_TAG in _tags(cell)]
        shown = "".join(
            "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
            for c in sentinel
            for o in c.get("outputs", [])
        )
        if token not in shown:
            return "the run did not reach its end: the completion marker is missing"
    return None


def _sentinel_cell(token: str) -> NotebookNode:
    # A bare expression: its value comes back as an execute_result, even if a cell redirected
    # sys.stdout.
    cell = nbformat.v4.new_code_cell(repr(token))
    cell.metadata["tags"] = [SENTINEL_TAG]
    return cell


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _cell_label(nb: NotebookNode, index: int) -> str:
    """``cell 4 ("raise ValueError(...)")``: the position in the notebook as the author sees it."""
    position = 1 + sum(
        1 for cell in nb.cells[:index] if not set(_tags(cell)) & {*PAPERMILL_TAGS, SENTINEL_TAG}
    )
    cell = nb.cells[index]
    if "injected-parameters" in _tags(cell):
        return "the injected parameters cell"
    lines = [line for line in cell.source.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    if len(first) > 60:
        first = first[:57] + "..."
    return f'cell {position} ("{first}")'


def _describe(
    raised: BaseException | None,
    problem: str | None,
    nb: NotebookNode,
    running: int | None,
    timeout: int | None,
    kernel_name: str,
) -> str:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: PLC0415
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415

    # The hook's index counts cells of the notebook papermill ran, before it added error markers.
    where = "a cell"
    if running is not None:
        shown = [c for c in nb.cells if "papermill-error-cell-tag" not in _tags(c)]
        if running < len(shown):
            where = _cell_label(nb, nb.cells.index(shown[running]))
    if isinstance(raised, CellTimeoutError):
        return f"{where} timed out after {timeout} s; raise --timeout or make the cell faster"
    if isinstance(raised, DeadKernelError):
        return f"the kernel died while running {where}; the cells after it never ran"
    if isinstance(raised, NoSuchKernel):
        return (
            f"the Jupyter kernel {kernel_name!r} is not installed; register it with "
            f"`python -m ipykernel install --sys-prefix --name {kernel_name}`"
        )
    if isinstance(raised, PapermillExecutionError):
        return problem or f"{where} raised {raised.ename}: {raised.evalue}"
    if raised is not None:
        detail = str(raised).strip().splitlines()
        when = f"in {where}" if running is not None else "before any cell ran"
        return f"the run failed {when}: {type(raised).__name__}: {detail[0] if detail else ''}"
    return problem or "the run failed"


def _read_executed(path: Path, *, fallback: NotebookNode) -> NotebookNode:
    """The notebook papermill saved; the unexecuted input if it never got to save one."""
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return fallback


#: Per-cell times papermill and nbclient record: the same run twice differs only in them.
#: The notebook's own start, end and duration (``metadata.papermill``) are kept: one place.
_CELL_TIMES = ("start_time", "end_time", "duration")


def _restore_metadata(nb: NotebookNode, source: Path) -> None:
    # papermill records the temporary paths it was given; name the real notebook instead.
    meta = nb.metadata.get("papermill")
    if meta is not None:
        meta["input_path"] = str(source)
        meta["output_path"] = None
    # Times are kept in one place, so that the same inputs give the same notebook apart from
    # them (docs/editions.md): not in every cell.
    ids = {cell.get("id") for cell in nb.cells}
    for cell in nb.cells:
        # papermill gives the cell it injects a random id; a stable one keeps the notebook
        # the same for the same parameters.
        if "injected-parameters" in _tags(cell) and "injected-parameters" not in ids:
            cell["id"] = "injected-parameters"
        cell.metadata.pop("execution", None)
        for key in _CELL_TIMES:
            cell.metadata.get("papermill", {}).pop(key, None)


#: The kernel processes each run started, by run id: ``(pid, create_time)`` pairs that
#: :class:`RunKernelManager` records and the run takes (:func:`take_launched`) when it ends.
#: One entry per run, so that concurrent runs in one process (``brief serve``'s renders) never
#: kill each other's kernels.
_launched: dict[str, list[tuple[int, float]]] = {}
_launched_lock = threading.Lock()


def take_launched(run_id: str) -> list[tuple[int, float]]:
    """The kernel processes started under ``run_id`` so far, forgotten as they are returned.

    Parameters
    ----------
    run_id
        The :attr:`RunKernelManager.run_id` the run configured.

    Returns
    -------
    list of (int, float)
        Each kernel's pid and its process's creation time (so that a pid reused later is not
        mistaken for it), in the order they started.
    """
    with _launched_lock:
        return _launched.pop(run_id, [])


def kill_launched(run_id: str) -> None:
    """Kill what is left of the kernels started under ``run_id`` (:func:`take_launched`), and
    every process they started."""
    _kill_survivors(take_launched(run_id))


def _record_launched(run_id: str, pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        entry = (pid, psutil.Process(pid).create_time())
        with _launched_lock:
            _launched.setdefault(run_id, []).append(entry)


class RunKernelClient(AsyncKernelClient):
    """An ``AsyncKernelClient`` that is ready as soon as its kernel is, and removes the
    kernel's connection file once the kernel answers.

    By then the kernel has read the file, and the client holds what it says: the file (ports
    and HMAC key) goes, so a run killed while its kernel works (a batch killed outright, its
    workers with it) leaves no key on disk, not even in ``<out>/.tmp/`` until the next run.
    :class:`RunKernelManager` makes its clients of this class (its ``client_class``).
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answers ``kernel_info`` and its IOPub is connected, as
        ``AsyncKernelClient`` does; then remove the connection file.

        One step differs: jupyter_client then reads IOPub until 0.2 s pass without a message,
        which every run waited in full. Here what IOPub holds already (the status messages
        of the ``kernel_info`` requests) is dropped without waiting: nbclient reads only the
        IOPub messages that answer its own requests.
        """
        if not isinstance(self.parent, KernelManager):  # no manager: jupyter_client's way
            await super().wait_for_ready(timeout=timeout)
        else:
            await self._kernel_answers(timeout)
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except Empty:
                    break
        if self.connection_file:
            with contextlib.suppress(OSError):
                os.unlink(self.connection_file)

    async def _kernel_answers(self, timeout: float | None) -> None:
        """Ask ``kernel_info`` until the kernel replies and an IOPub message has arrived
        (jupyter_client's loop: a reply with no IOPub message means IOPub is not connected
        yet, so ask again)."""
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        while True:
            self.kernel_info()
            with contextlib.suppress(Empty):
                reply = await self.shell_channel.get_msg(timeout=1)
                if reply["msg_type"] == "kernel_info_reply":
                    await self.iopub_channel.get_msg(timeout=0.2)
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


class RunKernelManager(ForkingKernelManager):
    """The kernel manager of every run: kernel output to :attr:`kernel_log`, each kernel
    process recorded under :attr:`run_id` for :func:`take_launched`.

    One class for every run, configured per run the traitlets way (:func:`run_kernel_options`):
    nbclient makes and owns the manager (and so shuts it down) from a class and a ``Config``.
    A :class:`~helpers.kernels.provisioner.ForkingKernelManager`, so a ``ForkingKernelManager``
    section of the configuration (:func:`~helpers.kernels.provisioner.forking_config`) forks
    the kernel from a warm zygote; without one, kernels start from their kernelspec.
    Its clients are :class:`RunKernelClient`.
    """

    kernel_log = Unicode(
        None,
        allow_none=True,
        config=True,
        help="File that receives the kernel's stdout and stderr; its folder gets the kernel's "
        "connection file. None: the kernel writes where this process does.",
    )
    run_id = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Key under which the kernel processes started are recorded for take_launched().",
    )
    client_class = DottedObjectName(f"{__name__}.RunKernelClient", config=True)
    client_factory = Type(RunKernelClient, klass=AsyncKernelClient, config=True)

    @property
    def ipykernel(self) -> bool:
        """Whether the kernel is ipykernel: jupyter_client says so only of a kernelspec named
        ``python``, ``python2`` or ``python3``; here also of one whose command runs
        ``ipykernel_launcher`` (the project's ``myanmar-brief``).

        nbclient starts such a kernel with IPython's history in memory
        (``--HistoryManager.hist_file=:memory:``, its ``ipython_hist_file``). Without it each
        run's kernel kept a thread writing every cell to the user's ``~/.ipython`` history
        database, one SQLite commit per cell, shared with every other kernel running: about a
        tenth of the time between two cells. A notebook sees its own session's history
        (``In``) either way.
        """
        if super().ipykernel:
            return True
        spec = self.kernel_spec
        return spec is not None and "ipykernel_launcher" in spec.argv

    async def start_kernel(self, **kw: Any) -> None:
        """jupyter_client's start, with the kernel's streams on :attr:`kernel_log` and its
        process recorded under :attr:`run_id`."""
        if self.kernel_log is None:
            await super().start_kernel(**kw)
        else:
            log_path = Path(self.kernel_log)
            if not self.connection_file:
                # Beside the kernel's log (a render's own folder under <out>/.tmp/), not in
                # $TMPDIR, where jupyter_client puts it: a run killed outright leaves its
                # kernel's ports and HMAC key there, and the next run removes the folder.
                name = f"{log_path.stem}.{uuid.uuid4().hex[:8]}.connection.json"
                self.connection_file = str(log_path.with_name(name))
            with open(log_path, "ab") as log:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super().start_kernel(**kw)
        pid = getattr(self.provisioner, "pid", None)
        if pid is not None and self.run_id is not None:
            _record_launched(self.run_id, pid)


def run_kernel_options(
    kernel_log: Path | str | None, run_id: str | None, config: Config | None = None
) -> dict[str, Any]:
    """Keyword arguments for papermill's ``execute_notebook`` (or nbclient's
    ``NotebookClient``) that run the kernel on a :class:`RunKernelManager` for one run.

    Parameters
    ----------
    kernel_log
        :attr:`RunKernelManager.kernel_log`.
    run_id
        :attr:`RunKernelManager.run_id`.
    config
        The caller's traitlets configuration, for example the zygote's address
        (:func:`~helpers.kernels.provisioner.forking_config`); it is not modified.

    Returns
    -------
    dict
        ``kernel_manager_class`` (:class:`RunKernelManager`) and ``config``: ``config`` with
        a ``RunKernelManager`` section for this run. nbclient makes its kernel manager with
        its own ``config`` (``NotebookClient.create_kernel_manager``).
    """
    merged = copy.deepcopy(config) if config is not None else Config()
    section = {"kernel_log": None if kernel_log is None else str(kernel_log), "run_id": run_id}
    merged.merge(Config({RunKernelManager.__name__: section}))
    return {"kernel_manager_class": RunKernelManager, "config": merged}


def _kill_survivors(launched: list[tuple[int, float]]) -> None:
    """Kill what is left of this run's kernels: the kernel, and the processes it started.

    jupyter_client starts each kernel in a new session, so the kernel's pid is also the id of
    a process group holding everything it started (unless a child left the group on purpose).
    A kernel that shut down normally can leave such children behind, orphaned; they are
    killed with the group. Linux allocates pids in sequence and does not reuse one that
    still names a process group, so the group id cannot belong to another program here.
    """
    if not hasattr(os, "killpg"):  # Windows: only the kernel itself
        for pid, created in launched:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.create_time() == created:
                    process.kill()
        return
    for pid, created in launched:
        process = None
        with contextlib.suppress(psutil.Error):
            candidate = psutil.Process(pid)
            if candidate.create_time() == created:
                process = candidate
        if process is None and not _group_exists(pid):
            continue
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        if process is not None:
            with contextlib.suppress(psutil.Error):
                process.wait(timeout=5)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True
