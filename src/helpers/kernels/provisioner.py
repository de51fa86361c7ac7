"""The parent side of warm kernels, in jupyter_client's terms: a provisioner and its manager.

:class:`ForkingProvisioner` is a ``LocalProvisioner`` that asks a zygote
(:mod:`helpers.kernels.zygote`, started by :mod:`helpers.kernels.forkserver`) to fork the
kernel where ``LocalProvisioner`` would ``Popen`` it. It is registered under jupyter_client's
own extension point, the ``jupyter_client.kernel_provisioners`` entry point, as
:data:`PROVISIONER_NAME` (see ``pyproject.toml``), and selected the public way: jupyter_client's
``KernelProvisionerFactory`` makes the provisioner that a kernelspec's
``metadata["kernel_provisioner"]`` names, with that stanza's ``config`` as constructor
arguments. The kernelspec installed on disk names none, so JupyterLab and any other client get
normal kernels; only :class:`ForkingKernelManager` sees a copy of it that names ours::

    {"kernel_provisioner": {"provisioner_name": "brief-fork-provisioner",
                            "config": {"zygote_address": "/tmp/brief-zygote-.../zygote.sock"}}}

:class:`ForkingKernelManager` is an ``AsyncKernelManager`` with one configurable trait,
:attr:`~ForkingKernelManager.zygote_address`. The address reaches it the way traitlets
configure anything: nbclient makes its kernel manager with its own ``config``, which papermill
passes on, so :func:`forking_options` is a class and a ``Config`` for papermill's
``execute_notebook`` or nbclient's ``NotebookClient``; no class is made at run time.
Kernels are forked on Linux only; elsewhere, without an address, or if the entry point is not
installed, the manager hands out the kernelspec as it is and kernels start normally.
"""

from __future__ import annotations

import functools
import logging
import pathlib
from collections.abc import Callable as CallableType
from importlib.metadata import entry_points
from typing import Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner
from traitlets import Callable, Unicode
from traitlets.config import Config

from helpers.kernels.client import ForkedProcess, request_fork
from helpers.kernels.protocol import CannotFork, fork_supported

__all__ = [
    "PROVISIONER_NAME",
    "ForkingKernelManager",
    "ForkingProvisioner",
    "forking_config",
    "forking_kernel_spec",
    "forking_options",
]

log = logging.getLogger(__name__)

#: The provisioner's name under the ``jupyter_client.kernel_provisioners`` entry point.
PROVISIONER_NAME = "brief-fork-provisioner"

#: Keyword arguments that jupyter_client passes to ``launch_kernel`` for its own use, not for
#: the process (``LocalProvisioner`` drops the same ones before ``Popen``).
_NOT_LAUNCH_OPTIONS = frozenset({"extra_arguments", "kernel_id"})


class ForkingProvisioner(LocalProvisioner):
    """A ``LocalProvisioner`` that forks kernels from a zygote instead of ``Popen``.

    ``launch_kernel`` asks the zygote at :attr:`zygote_address` for a fork of itself that
    runs the kernelspec's command, and keeps a ``Popen``-like handle on it, so polling,
    waiting, signalling (``SIGINT`` to interrupt, ``SIGKILL`` to kill, to the kernel's
    process group first, as ``LocalProvisioner`` does) and clean-up are
    ``LocalProvisioner``'s own code on the forked kernel's pid. Ports and the connection
    file are chosen by ``pre_launch`` exactly as for any local kernel.

    When the kernel cannot be forked faithfully (no zygote, the zygote is gone, not Linux,
    another interpreter or import-time environment, an unsupported launch option), it is
    started with ``Popen`` as usual and a warning is logged: a run never fails for want of a
    fork.

    Attributes
    ----------
    zygote_address : str or None
        Unix socket of the zygote, from the kernelspec's provisioner ``config``; ``None``
        starts normal kernels.
    forked : bool
        Whether the current kernel was forked (``False`` after a fallback).
    """

    zygote_address = Unicode(
        None, allow_none=True, config=True, help="Unix socket of the zygote to fork kernels from."
    )
    forked = False

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Fork the kernel from the zygote; start it with ``Popen`` if that is impossible."""
        self.forked = False
        if self.zygote_address and fork_supported():
            options = {k: v for k, v in kwargs.items() if k not in _NOT_LAUNCH_OPTIONS}
            try:
                process = request_fork(self.zygote_address, cmd, options)
            except CannotFork as exc:
                log.warning("Starting a normal kernel instead of a forked one: %s", exc)
            else:
                self.process = process
                self.pid = self.pgid = process.pid  # the child called setsid()
                self.cwd = kwargs.get("cwd", pathlib.Path.cwd())
                self.forked = True
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    async def kill(self, restart: bool = False) -> None:
        """``LocalProvisioner``'s kill (SIGKILL to the kernel's process group), with the
        forked kernel's handle told so (:meth:`~helpers.kernels.client.ForkedProcess.killed`)."""
        if isinstance(self.process, ForkedProcess):
            self.process.killed()
        await super().kill(restart=restart)

    async def cleanup(self, restart: bool = False) -> None:
        """Return the ports, and close the connection to the zygote if still open."""
        if isinstance(self.process, ForkedProcess):
            self.process.close()
        await super().cleanup(restart=restart)


def forking_kernel_spec(spec: KernelSpec, address: str) -> KernelSpec:
    """A copy of ``spec`` whose metadata names :class:`ForkingProvisioner` for ``address``.

    Parameters
    ----------
    spec
        The kernelspec as installed; it is left as it is.
    address
        The zygote's Unix socket path, the provisioner's ``zygote_address``.

    Returns
    -------
    KernelSpec
        The same command, environment and resources, with
        ``metadata["kernel_provisioner"]`` set for jupyter_client's
        ``KernelProvisionerFactory``.
    """
    stanza = {"provisioner_name": PROVISIONER_NAME, "config": {"zygote_address": address}}
    values = spec.trait_values()
    values.update(
        argv=list(spec.argv),
        env=dict(spec.env),
        metadata={**spec.metadata, "kernel_provisioner": stanza},
    )
    return type(spec)(**values)


@functools.cache
def _provisioner_registered() -> bool:
    """Whether the entry point is installed; if not, says so in the log, once per process."""
    group = KernelProvisionerFactory.GROUP_NAME
    if entry_points(group=group, name=PROVISIONER_NAME):
        return True
    log.warning(
        "The %r kernel provisioner is not installed (no %s entry point), so kernels start "
        "normally; reinstall the project: pip install -e .",
        PROVISIONER_NAME,
        group,
    )
    return False


class ForkingKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernels are forked from the zygote at
    :attr:`zygote_address`.

    Configure the address as any traitlets option (:func:`forking_config`), or pass it as a
    keyword argument. Without one this is a plain ``AsyncKernelManager``.
    """

    zygote_address = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Unix socket of the zygote to fork kernels from; None starts normal kernels.",
    )

    zygote_address_from = Callable(
        None,
        allow_none=True,
        config=True,
        help="Called when a kernel starts if zygote_address is not set: gives the address "
        "(it may wait for the zygote to be ready) or None for a normal kernel.",
    )

    async def start_kernel(self, **kw: Any) -> None:
        """jupyter_client's start, the address asked of :attr:`zygote_address_from` first if
        it is not known: the caller's work overlaps the zygote's imports until a kernel is
        needed."""
        if self.zygote_address is None and self.zygote_address_from is not None:
            self.zygote_address = self.zygote_address_from()
        await super().start_kernel(**kw)

    @property
    def kernel_spec(self) -> KernelSpec | None:
        """The kernelspec, naming :class:`ForkingProvisioner` when kernels are to be forked.

        jupyter_client's ``KernelProvisionerFactory`` makes the provisioner that this names
        when the kernel starts (restarts keep it). The spec as installed, without a
        provisioner, when there is no address, off Linux, or if the provisioner's entry point
        is not installed.
        """
        spec = super().kernel_spec
        address = self.zygote_address
        if spec is None or not address or not fork_supported() or not _provisioner_registered():
            return spec
        return forking_kernel_spec(spec, address)


def forking_config(address: str | CallableType[[], str | None] | None) -> Config:
    """The traitlets configuration that has :class:`ForkingKernelManager` fork from ``address``.

    Parameters
    ----------
    address
        The zygote's Unix socket path (what :func:`~helpers.kernels.forkserver.warm_kernels`
        yields, a ``str`` that any worker process may be given), or ``None`` for normal
        kernels; or, in the zygote's own process, a function that gives it when the first
        kernel starts (``zygote_in_background``'s ``address``).

    Returns
    -------
    traitlets.config.Config
        ``{"ForkingKernelManager": {"zygote_address": address}}`` (``zygote_address_from``
        for a function); it applies to subclasses of :class:`ForkingKernelManager` too.
    """
    trait = "zygote_address_from" if callable(address) else "zygote_address"
    return Config({ForkingKernelManager.__name__: {trait: address}})


def forking_options(address: str | CallableType[[], str | None] | None) -> dict[str, Any]:
    """Keyword arguments for papermill's ``execute_notebook`` (or nbclient's
    ``NotebookClient``) that fork each kernel from the zygote at ``address``.

    Parameters
    ----------
    address
        As for :func:`forking_config`.

    Returns
    -------
    dict
        ``kernel_manager_class`` (:class:`ForkingKernelManager`) and ``config``
        (:func:`forking_config`): nbclient makes its kernel manager with its own ``config``.
    """
    return {"kernel_manager_class": ForkingKernelManager, "config": forking_config(address)}
