"""Warm kernels: Jupyter kernels forked from a process that has imported their modules once.

``forkserver``
    The zygote: the process that imports ipykernel and the warm modules, then forks a kernel
    per request on a Unix socket; the protocol on that socket (both ends); its lifecycle
    (``Zygote``, ``warm_kernels``, ``zygote_in_background``); where forking is supported
    (Linux only). Runs as ``python -m helpers.kernels.forkserver serve``.
``provisioner``
    The parent side in jupyter_client's terms: ``ForkingProvisioner``, registered under the
    ``jupyter_client.kernel_provisioners`` entry point, and the kernel-manager classes
    (``ForkingKernelManager``, ``forking_kernel_manager``) whose kernelspec names it.

Nothing is imported here: the zygote imports this package first, and must not load
jupyter_client's kernel manager on the way.
"""
