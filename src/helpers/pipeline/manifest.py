"""``manifest.json``: what a run was made from, and how to make it again.

A manifest records the parameters as injected, the notebook and data fingerprints, package
versions and a fingerprint of the package's own code, the git commit (and whether the tree had
uncommitted changes), timings per phase, the sha256 and size of every output, when it was
made, and ``command``: the ``brief render`` line that reproduces it. ``brief batch`` compares
these with the next run's inputs to skip a job that would make the same report again.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
import subprocess
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpers import paths
from helpers.common import FORMATS, utc_now
from helpers.jsonfile import JSONFileError, read_json_file
from helpers.text import cli_text

#: Bumped when a key changes meaning. 2: ``edition`` (the ledger, :mod:`helpers.ledger`).
MANIFEST_VERSION = 2
#: The keys whose values are times by nature, and so differ between two runs of the same
#: inputs: every other key is the same, byte for byte (``outputs`` includes the PDF's sha256,
#: and the PDF carries its creation date). The one place that says which they are.
VOLATILE = ("created_at", "timings", "outputs")
#: Distributions whose versions every manifest records.
PACKAGES = (
    "myanmar-brief",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "pandas",
    "seaborn",
    "matplotlib",
    "weasyprint",
)

__all__ = [
    "MANIFEST_VERSION",
    "VOLATILE",
    "build_manifest",
    "canonical_json",
    "code_fingerprint",
    "command_line",
    "file_entry",
    "files_match",
    "git_state",
    "package_versions",
    "read_failure_record",
    "read_manifest",
    "sha256_file",
    "stable_view",
]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path) -> dict[str, Any]:
    """``{"sha256": ..., "bytes": ...}`` for one output file."""
    return {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def files_match(folder: Path, manifest: Any, digest: Callable[[Path], str] = sha256_file) -> bool:
    """Whether a run folder holds the output files its manifest lists, each with the sha256
    the manifest gives. A manifest without outputs, or naming a file outside the
    folder, matches nothing."""
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        return False
    for name, entry in outputs.items():
        if Path(str(name)).name != str(name) or not isinstance(entry, dict):
            return False
        try:
            if digest(Path(folder) / str(name)) != entry.get("sha256"):
                return False
        except OSError:
            return False
    return True


#: Subpackages that read briefs and never make one: a change to them leaves every brief as
#: it was, so it is not part of :func:`code_fingerprint` (``brief proof``'s rules).
NOT_BRIEF_CODE = ("proof",)


# -- reading a manifest back ------------------------------------------------------------------


class _Loose(BaseModel):
    """Keys brief reads are checked; any other key (a later version's) passes as it is."""

    model_config = ConfigDict(extra="allow", strict=True)


class _Output(_Loose):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int | None = Field(default=None, ge=0)


class _ManifestSchema(_Loose):
    """What a published run's ``manifest.json`` must hold for brief to read it."""

    status: str = "ok"
    notebook: str | None = None
    run: str | None = None
    created_at: str = ""
    parameters: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    outputs: dict[str, _Output] = Field(min_length=1)
    formats: list[str] = []
    timings: dict[str, float | int] = {}
    edition: dict[str, Any] | None = None


class _FailureSchema(_Loose):
    """What a failed attempt's record under ``_failed/`` must hold for the index to list it."""

    status: str = "failed"
    created_at: str = ""
    error: str = ""
    parameters: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    seconds: float | int | None = None
    files: dict[str, str] = {}


def read_manifest(path: Path) -> dict[str, Any]:
    """A published run's manifest, read as a regular file of bounded size and depth
    (:func:`helpers.jsonfile.read_json_file`) and checked against its schema.

    Raises
    ------
    FileNotFoundError
        No such file.
    JSONFileError
        Saying what is wrong with it; callers warn and pass over the run.
    """
    value = read_json_file(path)
    _check(_ManifestSchema, value, path)
    for name in value["outputs"]:
        if Path(name).name != name or name.startswith("."):
            raise JSONFileError(f"{path}: output {name[:80]!r} is not a plain file name")
    return value


def read_failure_record(path: Path) -> dict[str, Any]:
    """A failed attempt's record (``_failed/<notebook>/<run>/<stamp>.json``), read as
    :func:`read_manifest` reads a manifest."""
    value = read_json_file(path)
    _check(_FailureSchema, value, path)
    for name in value.get("files", {}).values():
        if Path(name).name != name or name.startswith("."):
            raise JSONFileError(f"{path}: file {name[:80]!r} is not a plain file name")
    return value


def _check(schema: type[BaseModel], value: Any, path: Path) -> None:
    if not isinstance(value, dict):
        raise JSONFileError(f"{path} holds a {type(value).__name__}, not a JSON object")
    try:
        schema.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise JSONFileError(
            f"{path} does not match the schema: {where}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
        ) from None


def code_fingerprint(root: Path = paths.PACKAGE_DIR) -> str:
    """SHA-256 over the package's own files (code and templates), each named by its path.

    An editable install keeps its version number when its code changes; this does not.
    Byte-code caches, hidden files and :data:`NOT_BRIEF_CODE` are left out.
    """
    digest = hashlib.sha256()
    files = sorted(
        p
        for p in Path(root).rglob("*")
        if p.is_file()
        and p.suffix != ".pyc"
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts
        )
        and p.relative_to(root).parts[0] not in NOT_BRIEF_CODE
    )
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (``None`` if absent), plus ``python``."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def git_state(root: Path = paths.PROJECT_ROOT) -> dict[str, Any]:
    """The commit checked out in ``root`` and whether the tree differs from it.

    Returns
    -------
    dict
        ``{"commit": str | None, "dirty": bool | None}``; both ``None`` when ``root`` is not
        a git work tree or git is not installed.
    """

    # A checkout owned by another user (the systemd and CI set-ups) is "dubious" to git,
    # which then answers nothing: trust this one folder for these two reads, with its file
    # system monitor off (the one repository setting that would run a command on status).
    safe = ["-c", f"safe.directory={Path(root).resolve()}", "-c", "core.fsmonitor=false"]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *safe, *args],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "--verify", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def command_line(
    notebook: str,
    overrides: Mapping[str, Any],
    *,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    formats: Iterable[str] = FORMATS,
    timeout: int | None = None,
    name: str | None = None,
    pdf_variant: str | None = None,
) -> str:
    """The shell-quoted ``brief render`` command that reproduces a run.

    Parameters
    ----------
    notebook
        The notebook as the command names it: a bare name for ``notebooks/``, else a path.
    overrides
        Parameters that differ from the notebook's defaults. ``data_dir`` is given as
        ``--data``.
    data_dir, out_dir, formats, timeout, name
        Options; each is left out when it has its default value (``None``, ``reports/``,
        ``html,pdf``, ``None``, ``None``); ``pdf_variant`` (``--pdf-variant``) when it is
        not the default ``pdf/ua-1``.
    """
    words = ["brief", "render", notebook]
    for key, value in sorted(overrides.items()):
        if key == "data_dir":
            continue
        words += ["-p", key, cli_text(value)]
    if data_dir is not None:
        words += ["--data", str(data_dir)]
    formats = tuple(formats)
    if set(formats) != set(FORMATS):
        words += ["--to", ",".join(formats)]
    if timeout is not None:
        words += ["--timeout", str(timeout)]
    if name:
        words += ["--name", name]
    if pdf_variant and pdf_variant != "pdf/ua-1":
        words += ["--pdf-variant", pdf_variant]
    if out_dir is not None and Path(out_dir).resolve() != paths.REPORTS_DIR.resolve():
        words += ["--out", str(out_dir)]
    return shlex.join(words)


def build_manifest(
    *,
    notebook: str,
    notebook_path: Path,
    run: str,
    parameters: Mapping[str, Any],
    overrides: Mapping[str, Any],
    data_dir: Path | None,
    data_fingerprint: str,
    formats: Iterable[str],
    timeout: int | None,
    timings: Mapping[str, float],
    outputs: Mapping[str, Path],
    command: str,
    kernel: str = paths.KERNEL_NAME,
    created_at: str | None = None,
    citations: list[dict[str, Any]] | None = None,
    edition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the manifest of a finished run.

    Parameters
    ----------
    edition
        The edition's ledger and how it compares with the previous one
        (:mod:`helpers.ledger`); None for a notebook that keeps none.
    citations
        The brief's data trail: each reader's note with its source, line, fragment and the
        data rows behind it (as the sources section of the executed notebook carries it).
    outputs
        Output file name (as it appears in the run folder) to the file to hash.
    timings
        Seconds per phase: ``validate``, ``execute``, ``html``, ``pdf``, ``publish``;
        ``total`` is added as their sum if missing.

    Returns
    -------
    dict
        JSON-safe; write it with :func:`json.dumps`.
    """
    timings = {k: round(float(v), 3) for k, v in timings.items()}
    timings.setdefault("total", round(sum(timings.values()), 3))
    return {
        "manifest_version": MANIFEST_VERSION,
        "status": "ok",
        "notebook": notebook,
        "notebook_path": _display_path(notebook_path),
        "notebook_sha256": sha256_file(notebook_path),
        "run": run,
        "parameters": json.loads(canonical_json(dict(parameters))),
        "overrides": json.loads(canonical_json(dict(overrides))),
        "data": {
            "dir": str(data_dir) if data_dir is not None else _display_path(paths.DATA_DIR),
            "fingerprint": data_fingerprint,
        },
        "kernel": kernel,
        "timeout": timeout,
        "formats": list(formats),
        "packages": package_versions(),
        "code_sha256": code_fingerprint(),
        "git": git_state(),
        "timings": timings,
        "outputs": {name: file_entry(path) for name, path in outputs.items()},
        "created_at": created_at or utc_now(),
        "command": command,
        "citations": list(citations or []),
        "edition": edition,
    }


def stable_view(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` without its :data:`VOLATILE` keys: equal for equal inputs."""
    return {k: v for k, v in manifest.items() if k not in VOLATILE}


def _display_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(paths.PROJECT_ROOT))
    except ValueError:
        return str(path)
