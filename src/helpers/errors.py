"""The package's exceptions: one base, a subclass per kind of failure.

Each subclass carries the exit code that ``brief`` ends with when it is raised, so that the
CLI maps failures to codes in one place and the README's table matches the code.
"""

from __future__ import annotations


class BriefError(Exception):
    """Base class for every error the package raises on purpose."""

    exit_code = 1


class UsageError(BriefError):
    """The command line or a plan file is malformed."""

    exit_code = 2


class DataValidationError(BriefError):
    """The data package breaks its schema or the project's rules."""

    exit_code = 3

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the data:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ParameterError(BriefError):
    """A notebook parameter is unknown, of the wrong type or out of range."""

    exit_code = 4


class ExecutionError(BriefError):
    """A notebook failed while executing: a cell raised, the kernel died or timed out."""

    exit_code = 5


class KernelStartError(ExecutionError):
    """The kernel failed to start (died or timed out before replying); no cell ran."""


class RenderError(BriefError):
    """The executed notebook could not be turned into HTML or PDF, or not published."""

    exit_code = 6


class DeliveryError(BriefError):
    """Mail was not delivered to every recipient: a server refused some (5xx, recorded in the
    delivery ledger) or kept deferring them (4xx, after the retries; not recorded)."""

    exit_code = 7


class MailServerError(BriefError):
    """The mail server cannot be used: not reachable, gone during the sending, no STARTTLS
    where it is required, or the login refused. What was sent before is recorded."""

    exit_code = 69  # EX_UNAVAILABLE (sysexits.h), as a lost Dask cluster


class ClusterError(BriefError):
    """A Dask cluster could not run the batch: no worker joined or all were lost, the
    scheduler went away, or a worker published where this machine cannot see."""

    exit_code = 69  # EX_UNAVAILABLE (sysexits.h): a service the run needs is not there


class LockHeldError(BriefError):
    """Another run holds the output folder's lock."""

    exit_code = 75
