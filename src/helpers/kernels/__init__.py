"""Warm kernels: a zygote that imports the kernel's modules once and forks each kernel
(``forkserver``), and the jupyter_client provisioner that asks it to."""
