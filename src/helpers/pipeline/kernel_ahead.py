"""A kernel started before its run: ``brief serve``'s next kernel, ready when a form arrives.

A run's kernel starts when the run does: forked from the zygote, it still has to set up its
sockets and its shell and answer its client before the first cell, 0.2 to 0.3 s of every
brief a reader waits for. :func:`start_kernel_ahead` starts one the way a run would (nbclient
makes the :class:`~helpers.pipeline.execute.RunKernelManager`, with the same options, and
starts the kernel with nbclient's own arguments), waits until it answers, and hands back a
:class:`StartedKernel`. A run given one (``execute_notebook(kernel=...)``) sends its cells to
it instead of starting a kernel, and ends it as it ends its own: stopped after the last cell,
every process it started killed.

The kernel has run nothing when it is handed over: no cell, no code of its own. Its output
goes to its log, in a private folder under ``<out>/.tmp/`` that the run takes over
(:meth:`StartedKernel.hand_log_to`), and like every run's folder there it is removed by the
next run to take the lock if the server was killed outright.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_core.utils import run_sync
from traitlets.config import Config

from helpers import paths
from helpers.pipeline.execute import (
    RunKernelManager,
    kill_launched,
    run_kernel_options,
)

if TYPE_CHECKING:
    from nbclient import NotebookClient

__all__ = ["KERNEL_WARM_UP", "StartedKernel", "start_kernel_ahead"]

#: What a kernel started ahead runs before a run takes it, silently (no execution count, no
#: history, nothing in its namespace): :func:`helpers.report.first_use.open_fonts`, named, not
#: imported (the kernel's side of the package), as the zygote's warm entries are.
KERNEL_WARM_UP = "__import__('helpers.report.first_use', fromlist=['open_fonts']).open_fonts()"


@dataclass
class StartedKernel:
    """A kernel that answers and has run nothing, for one run to take.

    Attributes
    ----------
    manager
        Its kernel manager, as nbclient made it for a run (a :class:`RunKernelManager`),
        recording its processes under its ``run_id``: the run that takes it kills them when
        it ends.
    folder
        Its private folder under ``<out>/.tmp/``, holding its log.
    cwd
        Its working directory.
    kernel_name
        Its kernelspec.
    """

    manager: RunKernelManager
    folder: Path
    cwd: Path
    kernel_name: str

    @property
    def kernel_log(self) -> Path:
        """Where the kernel's stdout and stderr go."""
        return self.folder / "kernel.log"

    def fits(self, cwd: Path, kernel_name: str) -> bool:
        """Whether a run in ``cwd`` on ``kernel_name`` may take it, and it is still alive."""
        return self.cwd == Path(cwd) and self.kernel_name == kernel_name and self.alive()

    def alive(self) -> bool:
        """Whether the kernel's process is still running."""
        process = getattr(self.manager.provisioner, "process", None)
        return process is not None and process.poll() is None

    def hand_log_to(self, path: Path) -> None:
        """Move the kernel's log to ``path`` (the run's own log, in the same ``.tmp/``): the
        kernel goes on writing to it there. Its folder goes."""
        self.kernel_log.replace(path)
        shutil.rmtree(self.folder, ignore_errors=True)

    def discard(self) -> None:
        """Kill the kernel and every process it started; remove its folder. Never raises."""
        with contextlib.suppress(Exception):
            kill_launched(self.manager.run_id)
        with contextlib.suppress(Exception):
            run_sync(self.manager.cleanup_resources)()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_kernel_ahead(
    folder: Path,
    cwd: Path,
    *,
    kernel_name: str = paths.KERNEL_NAME,
    config: Config | None = None,
    start_timeout: int = 60,
    warm_up: str = KERNEL_WARM_UP,
) -> StartedKernel:
    """Start a kernel for a later run and wait until it answers.

    Parameters
    ----------
    folder
        A new private folder for it (its log, and its connection file until it answers), under
        the output folder's ``.tmp/`` (:func:`helpers.pipeline.publish.staging_dir`).
    cwd
        Its working directory: the folder of the notebooks it may run.
    kernel_name
        Its kernelspec.
    config
        As for :func:`~helpers.pipeline.execute.execute_notebook`: the zygote's address, say
        (:func:`helpers.kernels.provisioner.forking_config`).
    start_timeout
        Seconds to wait for it to answer, and for ``warm_up`` to run.
    warm_up
        Code the kernel runs silently once it answers (:data:`KERNEL_WARM_UP`: it opens the
        charts' fonts); ``""`` for none. A silent request counts no execution, keeps no
        history and shows nothing; the code must leave nothing in the kernel's namespace.

    Raises
    ------
    Exception
        Whatever starting it raised (:class:`RuntimeError` if ``warm_up`` failed); nothing
        it started is left running, and its folder goes.
    """
    from nbclient import NotebookClient  # noqa: PLC0415
    from nbformat.v4 import new_notebook  # noqa: PLC0415

    run_id = uuid.uuid4().hex
    kernel = None
    client = NotebookClient(
        new_notebook(),
        kernel_name=kernel_name,
        startup_timeout=start_timeout,
        timeout=start_timeout,
        **run_kernel_options(folder / "kernel.log", run_id, config),
    )
    try:
        client.km = client.create_kernel_manager()
        # nbclient's own start (its arguments: IPython's history in memory), then its client,
        # which returns once the kernel answers (and removes the connection file).
        client.start_new_kernel(cwd=str(cwd))
        client.start_new_kernel_client()
        if warm_up:
            _run_silently(client, warm_up)
        kernel = StartedKernel(client.km, folder, Path(cwd), kernel_name)
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        if kernel is None:  # what was started is killed, its sockets closed, its folder gone
            if client.km is not None:
                StartedKernel(client.km, folder, Path(cwd), kernel_name).discard()
            kill_launched(run_id)
            shutil.rmtree(folder, ignore_errors=True)
    return kernel


def _run_silently(client: NotebookClient, code: str) -> None:
    """Run ``code`` on the client's kernel as a silent request; raise if it failed."""
    msg_id = client.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    reply = client.wait_for_reply(msg_id)
    content = (reply or {}).get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(
            f"the kernel's warm-up failed: {content.get('ename')}: {content.get('evalue')}"
        )
