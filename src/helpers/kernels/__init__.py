"""Warm kernels: Jupyter kernels forked from a process that has imported their modules once.

Five modules, one job each, in layers (an import-linter ``layers`` contract in
``pyproject.toml``: a module imports only from the layers below its own)::

    forkserver | provisioner     the zygote's lifecycle | jupyter_client's side
    client     | zygote          the socket's two ends
    protocol                     what both ends share

``forkserver``
    The zygote's lifecycle, from the process that starts it: ``Zygote``, ``warm_kernels``,
    ``zygote_in_background``. They give the zygote's address, a ``str``.
``provisioner``
    jupyter_client's side: ``ForkingProvisioner``, registered under the
    ``jupyter_client.kernel_provisioners`` entry point, and ``ForkingKernelManager``, whose
    ``zygote_address`` is a traitlets option (``forking_config``, ``forking_options``).
``client``
    The parent's end of the socket: ``request_fork`` and the ``Popen``-like ``ForkedProcess``.
``zygote``
    The zygote process itself (``python -m helpers.kernels.zygote serve``): its server, the
    forked child becoming a kernel, and ``redo_private_state``, the one fenced function that
    writes other libraries' private state.
``protocol``
    The socket's framing, ``CannotFork``, and where forking is supported (Linux only).

Nothing is imported here: the zygote imports this package first, and must not load
jupyter_client's kernel manager on the way.
"""
