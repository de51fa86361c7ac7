"""Whether a job's report is up to date: the rule ``brief batch`` skips jobs by.

A job is up to date when its run folder's last attempt succeeded, everything its outputs
depend on (:func:`job_inputs`: the notebook's sha256, the parameters, the data's fingerprint,
the package versions and code, the formats) equals what that run's ``manifest.json``
(:mod:`helpers.pipeline.manifest`) records, and every output is still there with the sha256
the manifest gives. :func:`decide` says so, or says what changed, for the summary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.pipeline import manifest as manifests
from helpers.pipeline.manifest import canonical_json, sha256_file
from helpers.pipeline.prepare import quotations
from helpers.pipeline.publish import list_runs, run_path
from helpers.pipeline.request import Job

__all__ = ["Decision", "decide", "decide_all", "job_inputs"]


@dataclass(frozen=True)
class Decision:
    """Whether a job runs, and why (``new``, ``data changed``, ``unchanged since ...``).

    ``key`` is the sha256 of the job's inputs (:func:`job_inputs`) as canonical JSON.
    """

    run: bool
    reason: str
    key: str = ""


def job_inputs(
    job: Job,
    *,
    packages: Mapping[str, str | None] | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Everything a job's outputs depend on, as its manifest records it.

    Parameters
    ----------
    job
        The job.
    packages, code
        :func:`~helpers.pipeline.manifest.package_versions` and
        :func:`~helpers.pipeline.manifest.code_fingerprint`, if already computed.

    Returns
    -------
    dict
        ``notebook_sha256``, ``parameters``, ``data_fingerprint``, ``packages``,
        ``code_sha256``, ``formats`` and ``pdf_variant``. The job's key is the sha256 of its
        canonical JSON.
    """
    return {
        "notebook_sha256": sha256_file(job.notebook),
        "parameters": json.loads(canonical_json(job.parameters)),
        "data_fingerprint": job.data_fingerprint,
        "packages": dict(packages if packages is not None else manifests.package_versions()),
        "code_sha256": code if code is not None else manifests.code_fingerprint(),
        "formats": sorted(job.formats),
        "quotations_checked": _quotations_checked(job),
        "pdf_variant": job.pdf_variant if "pdf" in job.formats else None,
    }


def _quotations_checked(job: Job) -> bool:
    """Whether every source text the job's data names is found here (see
    :func:`helpers.pipeline.prepare.quotations`)."""
    return bool(quotations(job.data_dir)["checked"])


def decide(
    job: Job,
    inputs: Mapping[str, Any],
    last: Mapping[str, Any] | None,
    *,
    force: bool = False,
) -> Decision:
    """Whether a job must run, comparing its inputs with its run folder's last attempt.

    Parameters
    ----------
    job
        The job.
    inputs
        From :func:`job_inputs`.
    last
        The run's row from :func:`helpers.pipeline.publish.list_runs`, or ``None`` if it never
        ran.
    force
        Run whatever the record says.

    Returns
    -------
    Decision
        To run: ``--force``, ``new``, ``previous run failed``, what changed
        (``notebook changed``, ``parameters changed: as_of``, ``data changed``,
        ``package version changed: pandas``, ``package code changed``, ``formats changed``,
        ``source text found: the quotations can be checked now``),
        ``file names changed`` (``--name``), or ``outputs missing or changed: brief.pdf``.
        To skip: ``unchanged since <time>``.
    """
    key = hashlib.sha256(canonical_json(dict(inputs)).encode()).hexdigest()
    if force:
        return Decision(True, "--force", key)
    if last is None:
        return Decision(True, "new", key)
    if last.get("status") == "failed":
        return Decision(True, "previous run failed", key)
    manifest = last.get("manifest") or {}
    reasons = _changes(inputs, _manifest_inputs(manifest))
    if reasons:
        return Decision(True, ", ".join(reasons), key)
    wanted = {f"{job.file_stem}.{fmt}" for fmt in ("ipynb", *job.formats)}
    if not wanted <= set(manifest.get("outputs") or {}):
        return Decision(True, "file names changed", key)
    changed = _changed_output(run_path(job.out_dir, job.name, job.run), manifest)
    if changed is not None:
        return Decision(True, f"outputs missing or changed: {changed}", key)
    return Decision(False, f"unchanged since {manifest.get('created_at', '?')}", key)


def decide_all(jobs: Sequence[Job], out_dir: Path, *, force: bool = False) -> list[Decision]:
    """:func:`decide` for each job, against the runs ``out_dir`` holds; the package versions
    and code fingerprint are computed once."""
    packages, code = manifests.package_versions(), manifests.code_fingerprint()
    last = {(row["notebook"], row["run"]): row for row in list_runs(out_dir)}
    return [
        decide(
            job,
            job_inputs(job, packages=packages, code=code),
            last.get((job.name, job.run)),
            force=force,
        )
        for job in jobs
    ]


def _manifest_inputs(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`job_inputs` gives, as a run's manifest recorded it."""
    return {
        "notebook_sha256": manifest.get("notebook_sha256"),
        "parameters": manifest.get("parameters"),
        "data_fingerprint": (manifest.get("data") or {}).get("fingerprint"),
        "packages": manifest.get("packages"),
        "code_sha256": manifest.get("code_sha256"),
        "formats": sorted(manifest.get("formats") or []),
        "quotations_checked": (manifest.get("quotations") or {}).get("checked"),
        # A run made before there were variants made an untagged PDF.
        "pdf_variant": manifest.get("pdf_variant", "none")
        if "pdf" in (manifest.get("formats") or [])
        else None,
    }


#: What a change of each input is called in a reason, and whether the reason names what in it
#: changed (``parameters changed: as_of, end``).
_REASONS = {
    "notebook_sha256": ("notebook changed", False),
    "parameters": ("parameters changed", True),
    "data_fingerprint": ("data changed", False),
    "packages": ("package version changed", True),
    "code_sha256": ("package code changed", False),
    "formats": ("formats changed", False),
    "quotations_checked": ("source texts changed", False),
    "pdf_variant": ("PDF variant changed", False),
}


def _changes(now: Mapping[str, Any], then: Mapping[str, Any]) -> list[str]:
    """What differs between two sets of inputs, in words, in the order of :data:`_REASONS`."""
    reasons = []
    for name, (reason, by_name) in _REASONS.items():
        if now[name] == then[name]:
            continue
        if name == "quotations_checked":
            reason = (
                "source text found: the quotations can be checked now"
                if now[name]
                else "source text missing: the quotations cannot be checked"
            )
        if name == "pdf_variant" and now["formats"] != then["formats"]:
            continue  # a PDF made or dropped: "formats changed" says it
        if by_name:
            old = then[name] if isinstance(then[name], dict) else {}
            names = sorted(k for k in {*now[name], *old} if now[name].get(k) != old.get(k))
            reason = f"{reason}: {', '.join(names)}"
        reasons.append(reason)
    return reasons


def _changed_output(folder: Path, manifest: Mapping[str, Any]) -> str | None:
    """The first output the manifest lists that is missing or differs from its sha256."""
    for name, entry in (manifest.get("outputs") or {}).items():
        path = folder / name
        try:
            intact = path.is_file() and sha256_file(path) == entry.get("sha256")
        except OSError:
            intact = False
        if not intact:
            return name
    return None
