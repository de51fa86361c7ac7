"""Run folders, atomic publishing, the failed-run archive, and reading them back.

An output folder (``reports/`` unless ``--out`` says otherwise) looks like this::

    reports/
      index.html                       every run, newest first (:mod:`helpers.pipeline.index`)
      .brief.lock                      held by the run that is writing (see :func:`locked`)
      .tmp/                            work and staging folders of the run in progress
      brief/
        default -> .versions/default/20261129T100000Z-1a2b3c4d     (a relative symlink)
        partner-china-3f2a9c1b07 -> .versions/partner-china-3f2a9c1b07/...
        .versions/default/20261129T100000Z-1a2b3c4d/
          brief.ipynb  brief.html  brief.pdf  manifest.json
      _failed/brief/default/
        20261129T100500_123456Z.ipynb  .error.txt  .json   (one stamp per failed attempt)

How a run is switched in, and why a reader never sees half of one
-----------------------------------------------------------------
Every file of a new run is written into a staging folder under ``.tmp/`` (each through a
temporary file, ``fsync`` and :func:`os.replace`). The finished folder is renamed into
``<notebook>/.versions/<run>/<version>/``, and a symlink to it, made under ``.tmp/``, is
:func:`os.replace`-d onto ``<notebook>/<run>``. ``rename(2)`` of a symlink over a symlink is
atomic: whoever opens ``brief/default/brief.html`` gets the old complete run or the new complete
run, never a mixture, and never nothing. Only then are older versions deleted.

The symlink was chosen over a pair of renames (old away, new in) because between those two
renames the run would be missing, and a process killed there would leave no report at all.

A process killed at any point leaves the published runs as they were; what it leaves behind is
confined to ``.tmp/`` and to a version folder no link points to. The next run to take the lock
removes both (:func:`clean_stale`): holding the lock proves no other run is using them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import string
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from helpers.errors import LockHeldError, RenderError, UsageError
from helpers.jsonfile import JSONFileError
from helpers.pipeline.manifest import canonical_json, read_failure_record, read_manifest

_log = logging.getLogger(__name__)

#: The run folder of a notebook rendered with every parameter at its default.
DEFAULT_RUN = "default"
#: Most characters of the readable part of a run folder name.
SLUG_MAX = 40
#: Most characters of a file name a ``--name`` template gives (before its suffix).
STEM_MAX = 120
#: Hex digits of the parameters' hash in a run folder name.
HASH_LENGTH = 10
#: Failed attempts kept per run in ``_failed/``, newest first.
FAILED_KEEP = 20
#: The most bytes all failed attempts under ``_failed/`` may take together; the oldest go
#: first, and the newest always stays (:func:`cap_failed`).
FAILED_MAX_BYTES = 200 * 1024 * 1024

#: Names in the output folder that brief keeps for itself; a notebook may not take them
#: (``index.html.ipynb`` would publish its runs where the index is).
RESERVED_NAMES = frozenset({"index.html"})

LOCK_NAME = ".brief.lock"
TMP_NAME = ".tmp"
VERSIONS_NAME = ".versions"
FAILED_NAME = "_failed"

_RUN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NOTEBOOK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

__all__ = [
    "DEFAULT_RUN",
    "archive_failure",
    "cap_failed",
    "check_no_links",
    "check_notebook_name",
    "check_output_folder",
    "clean_stale",
    "file_stem",
    "list_runs",
    "locked",
    "no_links",
    "publish_run",
    "published_run",
    "read_published",
    "run_name",
    "run_path",
    "staging_dir",
    "write_atomic",
]


# -- names -------------------------------------------------------------------------------------


def run_name(parameters: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """The run folder name for a set of parameters.

    Parameters
    ----------
    parameters
        The values injected into the notebook (JSON-safe).
    defaults
        The notebook's defaults, as :func:`~helpers.params.validate_parameters` fills them in.

    Returns
    -------
    str
        ``"default"`` when every parameter equals its default; otherwise a slug of the
        non-default names and values (ASCII letters, digits and ``-``, at most
        :data:`SLUG_MAX` characters) followed by a hash of the canonical JSON of all the
        parameters, e.g. ``partner-china-as-of-2023-01-01-3f2a9c1b07``. Different parameters
        never share a folder, and no value can bring ``/``, ``..`` or anything else that leaves
        the output folder into the name.
    """
    overrides = {k: v for k, v in sorted(parameters.items()) if defaults.get(k, _MISSING) != v}
    if not overrides:
        return DEFAULT_RUN
    text = " ".join(f"{k} {_plain(v)}" for k, v in overrides.items())
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:SLUG_MAX].rstrip("-")
    digest = hashlib.sha256(canonical_json(dict(parameters)).encode()).hexdigest()[:HASH_LENGTH]
    return f"{slug}-{digest}" if slug else digest


_MISSING = object()


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k} {_plain(v)}" for k, v in value.items())
    return str(value)


def file_stem(template: str, values: Mapping[str, Any]) -> str:
    """The name (without suffix) of a run's output files, from a ``--name`` template such as
    ``"{notebook}-{partner}-{as_of}"`` and the run's values (``notebook``, ``run`` and every
    parameter).

    Only plain ``{field}`` substitutions are allowed, and the result must be a plain file
    name: no folder separator, no leading dot, no control character, at most
    :data:`STEM_MAX` characters; so every output stays in its run folder, inside ``--out``.

    Raises
    ------
    UsageError
        Naming the template, the field or the name it gave, and what is allowed.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"--name {template!r}: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise UsageError(
                f"--name {template!r}: {{{field}}} is not a plain field; write {{name}} with "
                f"one of: {', '.join(sorted(values))}"
            )
        if field not in values:
            raise UsageError(
                f"--name {template!r}: unknown field {{{field}}}; the fields are: "
                f"{', '.join(sorted(values))}"
            )
    stem = template.format_map({k: _plain(v) for k, v in values.items()})
    bad = (
        "it is empty"
        if not stem.strip()
        else "it has a folder separator"
        if "/" in stem or "\\" in stem
        else "it starts with a dot"
        if stem.startswith(".")
        else "it has a control character"
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in stem)
        else f"it is longer than {STEM_MAX} characters"
        if len(stem) > STEM_MAX
        else None
    )
    if bad:
        raise UsageError(
            f"--name {template!r} gives {stem[:80]!r}, which cannot name a file in the run's "
            f"folder: {bad}"
        )
    return stem


def check_notebook_name(name: str) -> str:
    """Return ``name`` if it can name a folder in the output folder, else raise UsageError.

    Letters, digits, ``_``, ``.`` and ``-``, starting with a letter or digit: this keeps out
    ``..``, separators and the reserved ``_failed`` and dot-folders.
    """
    if not _NOTEBOOK_RE.match(name):
        raise UsageError(
            f"notebook name {name!r} cannot name a report folder: use letters, digits, "
            "'_', '.' and '-', starting with a letter or digit"
        )
    if name.lower() in RESERVED_NAMES:
        raise UsageError(
            f"notebook name {name!r} is reserved: the output folder's {name} is brief's own; "
            "rename the notebook"
        )
    return name


def run_path(out_dir: Path, notebook: str, run: str) -> Path:
    """``<out_dir>/<notebook>/<run>``, after checking that it cannot lead out of ``out_dir``.

    Raises
    ------
    RenderError
        If either name is not a plain folder name or the path resolves outside ``out_dir``.
    """
    check_notebook_name(notebook)
    if not _RUN_RE.match(run):
        raise RenderError(f"run name {run!r} is not a plain folder name")
    out_dir = Path(out_dir).resolve()
    path = out_dir / notebook / run
    parent = path.parent.resolve()
    if not parent.is_relative_to(out_dir) or parent.parent != out_dir:
        raise RenderError(f"{path} would lie outside the output folder {out_dir}")
    return path


def no_links(out_dir: Path, path: Path) -> bool:
    """True when ``path`` lies in ``out_dir`` with no symbolic link on the way from it.

    A link anywhere below the output folder (to another folder, say) would take what brief
    deletes or writes through it outside ``--out``. What brief deletes or writes under the
    output folder passes this first; the run links (``<notebook>/<run>``) are the one kind of
    link brief makes, and it only ever replaces them, never goes through them to delete.
    """
    out_dir = Path(out_dir).resolve()
    try:
        parts = Path(path).relative_to(out_dir).parts
    except ValueError:
        return False
    current = out_dir
    for part in parts:
        current = current / part
        if current.is_symlink():
            return False
    return True


def check_no_links(out_dir: Path, path: Path) -> Path:
    """``path``, if :func:`no_links` says so; otherwise a RenderError naming the link."""
    if no_links(out_dir, path):
        return path
    out_dir = Path(out_dir).resolve()
    current = out_dir
    for part in Path(path).relative_to(out_dir).parts:
        current = current / part
        if current.is_symlink():
            break
    raise RenderError(
        f"{current} is a symbolic link (to {os.readlink(current)}); brief writes and deletes "
        f"only inside the output folder {out_dir} and does not follow links there: remove "
        "the link (or choose another --out)"
    )


# -- the lock and temporary files ----------------------------------------------------------------


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[Path]:
    """Hold ``<out_dir>/.brief.lock`` for the duration of a run, or fail at once.

    On entry, after taking the lock, leftovers of runs that were killed are removed
    (:func:`clean_stale`).

    Yields
    ------
    Path
        The output folder, resolved.

    Raises
    ------
    LockHeldError
        If another process holds the lock. Nothing in the output folder has been touched.
    UsageError
        The folder is not one brief may write into (:func:`check_output_folder`); nothing
        in it was touched.
    RenderError
        If the lock file cannot be created: the folder is read-only, full or not ours.
    """
    from filelock import FileLock, Timeout  # noqa: PLC0415

    out_dir = check_output_folder(out_dir)
    check_no_links(out_dir, out_dir / LOCK_NAME)
    lock = FileLock(out_dir / LOCK_NAME, timeout=0)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise LockHeldError(
            f"another brief run holds {out_dir / LOCK_NAME}; wait for it to finish "
            "(the lock is released when that process ends, even if it is killed)"
        ) from None
    except OSError as exc:
        # A read-only or full disk, or no permission: nothing can be published there.
        raise RenderError(
            f"cannot write to the output folder {out_dir}: {exc.strerror or exc}; "
            "choose a writable folder with --out"
        ) from exc
    try:
        clean_stale(out_dir)
        yield out_dir
    finally:
        # Jobs remove their own folders; an empty .tmp/ is not worth leaving behind.
        with contextlib.suppress(OSError):
            (out_dir / TMP_NAME).rmdir()
        lock.release()


#: Files a new output folder may hold before brief first uses it (a checkout's ``reports/``
#: keeps a ``.gitkeep``).
_PLACEHOLDERS = frozenset({".gitkeep", ".gitignore", ".keep"})


#: The mark ``brief proof`` leaves in the folder it renders its grid into (its own, never a
#: user's editions): a folder brief made.
PROOF_MARK = ".brief-proof"


def _made_by_brief(out_dir: Path) -> bool:
    """Whether brief has written into ``out_dir``: it holds brief's lock file or the proof's
    mark, or a notebook folder with its versions."""
    if os.path.lexists(out_dir / LOCK_NAME) or os.path.lexists(out_dir / PROOF_MARK):
        return True
    return any((p / VERSIONS_NAME).is_dir() for p in _notebook_dirs(out_dir))


def check_output_folder(out_dir: Path) -> Path:
    """``out_dir``, resolved, if brief may write into it; else a UsageError saying why.

    brief writes its own files into the output folder (``index.html``, ``.tmp/``,
    ``_failed/``, ``_logs/``, one folder per notebook) and removes what it left there: so it
    writes only into a folder that does not exist yet, one that is empty (a ``.gitkeep``
    aside), or one it has used before (it holds ``.brief.lock``, or a notebook's
    ``.versions/``). A folder of other files (a
    web site's ``index.html``, a home folder, ``/``) is refused and kept untouched.
    """
    out_dir = Path(out_dir).resolve()
    if out_dir == Path(out_dir.anchor):
        raise UsageError(
            f"output folder {out_dir} is the root of the file system; brief writes its own "
            "files and folders into the output folder: choose a folder of its own with --out"
        )
    if not out_dir.is_dir() or _made_by_brief(out_dir):
        return out_dir
    try:
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in _PLACEHOLDERS)
    except OSError:
        return out_dir  # unreadable: taking the lock says why
    if foreign:
        listed = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise UsageError(
            f"output folder {out_dir} already holds files brief did not make ({listed}); "
            "brief leaves it untouched: choose a new or empty folder with --out, or one brief "
            f"has written before (it holds {LOCK_NAME})"
        )
    return out_dir


def staging_dir(out_dir: Path, label: str) -> Path:
    """A new private folder under ``<out_dir>/.tmp/`` for one job's work and staging.

    It lies on the same file system as the published runs, so its contents can be renamed
    into place. The caller removes it (``try``/``finally``); :func:`clean_stale` removes what
    a killed process left.
    """
    tmp = Path(out_dir).resolve() / TMP_NAME
    tmp.mkdir(parents=True, exist_ok=True)
    check_no_links(Path(out_dir), tmp)
    return Path(tempfile.mkdtemp(prefix=staging_prefix(label), dir=tmp))


def staging_prefix(label: str) -> str:
    """How the names of the folders :func:`staging_dir` makes for ``label`` begin."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label)[:60] + "-"


def clean_stale(out_dir: Path) -> list[Path]:
    """Remove what killed runs left: ``.tmp/`` and version folders no run link points to.

    Call only while holding the lock (:func:`locked` does).

    Returns
    -------
    list of Path
        What was removed.
    """
    out_dir = Path(out_dir).resolve()
    removed: list[Path] = []
    tmp = out_dir / TMP_NAME
    if tmp.is_symlink() or tmp.is_file():  # a link (not what it points to), or a stray file
        tmp.unlink()
        removed.append(tmp)
    elif tmp.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    # A process killed while writing the index (or any file of the folder's own) leaves
    # write_atomic's hidden temporary file beside it.
    for stray in out_dir.glob(".*.tmp"):
        if stray.is_file() or stray.is_symlink():
            stray.unlink(missing_ok=True)
            removed.append(stray)
    for notebook_dir in _notebook_dirs(out_dir):
        versions = notebook_dir / VERSIONS_NAME
        # A link at .versions, or at a run's folder in it, is left alone: deleting through it
        # would delete outside --out (publishing that run then refuses, naming the link).
        if versions.is_symlink() or not versions.is_dir():
            continue
        for run_versions in versions.iterdir():
            if run_versions.is_symlink() or not run_versions.is_dir():
                continue
            link = notebook_dir / run_versions.name
            current = link.resolve() if link.is_symlink() else None
            for version in run_versions.iterdir():
                # A link among the versions is removed, not followed (_remove unlinks it).
                if version.is_symlink() or version.resolve() != current:
                    _remove(version)
                    removed.append(version)
            if not any(run_versions.iterdir()):
                run_versions.rmdir()
    return removed


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _current_umask()


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` so that ``path`` is either the old file or the whole new one.

    The bytes go to a temporary file in the same folder, are flushed with ``fsync``, and the
    file is moved into place with :func:`os.replace`; the folder is synced after. The
    temporary file is removed if anything fails.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; a published brief is for readers, so honour the umask instead.
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _stamp(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ")


# -- publishing --------------------------------------------------------------------------------


def publish_run(staged: Path, out_dir: Path, notebook: str, run: str) -> Path:
    """Switch a complete staged run folder in as ``<out_dir>/<notebook>/<run>``.

    Parameters
    ----------
    staged
        A folder under ``<out_dir>/.tmp/`` holding every file of the run, already synced.
    out_dir, notebook, run
        Where it goes; checked by :func:`run_path`.

    Returns
    -------
    Path
        ``<out_dir>/<notebook>/<run>``: a symlink to the new version folder.

    Raises
    ------
    RenderError
        If the folder could not be switched in; the previous run is then untouched.
    """
    out_dir = Path(out_dir).resolve()
    link = run_path(out_dir, notebook, run)
    version = f"{_stamp()}-{uuid.uuid4().hex[:8]}"
    versions = link.parent / VERSIONS_NAME / run
    target = versions / version
    tmp_link = out_dir / TMP_NAME / f"{notebook}-{run}-{version}.link"
    check_no_links(out_dir, versions)
    try:
        versions.mkdir(parents=True, exist_ok=True)
        os.rename(staged, target)
        _fsync_dir(versions)
        os.symlink(Path(VERSIONS_NAME) / run / version, tmp_link, target_is_directory=True)
        if link.exists() and not link.is_symlink():
            # A real folder (copied in by hand, say) cannot be replaced by a symlink in one
            # step; move it aside first. This is the only case with a moment without a run.
            os.rename(link, versions / f"{version}-previous")
        os.replace(tmp_link, link)
        _fsync_dir(link.parent)
    except OSError as exc:
        tmp_link.unlink(missing_ok=True)
        if not (link.is_symlink() and link.resolve() == target.resolve()):
            _remove(target)
        raise RenderError(f"could not publish {notebook}/{run}: {exc}") from exc
    for old in versions.iterdir():
        if old.name != version:
            _remove(old)
    return link


def archive_failure(
    out_dir: Path,
    notebook: str,
    run: str,
    *,
    executed: Path | None,
    error_text: str,
    record: Mapping[str, Any],
) -> Path:
    """Keep a failed attempt for debugging, beside (not in place of) the published run.

    Writes ``<out_dir>/_failed/<notebook>/<run>/<stamp>.ipynb`` (the executed notebook, error
    output included, if there is one), ``<stamp>.error.txt`` (what went wrong) and
    ``<stamp>.json`` (``record``, with ``"files"`` added, for the index). Keeps the newest
    :data:`FAILED_KEEP` attempts per run.

    Returns
    -------
    Path
        The ``.error.txt`` file.
    """
    out_dir = Path(out_dir).resolve()
    check_notebook_name(notebook)
    if not _RUN_RE.match(run):
        raise RenderError(f"run name {run!r} is not a plain folder name")
    folder = check_no_links(out_dir, out_dir / FAILED_NAME / notebook / run)
    folder.mkdir(parents=True, exist_ok=True)
    # Microseconds keep names unique and in time order (pruning sorts them by name).
    now = dt.datetime.now(dt.UTC)
    stamp = f"{_stamp(now)[:-1]}_{now.microsecond:06d}Z"
    while any(folder.glob(f"{stamp}.*")):
        now += dt.timedelta(microseconds=1)
        stamp = f"{_stamp(now)[:-1]}_{now.microsecond:06d}Z"
    files: dict[str, str] = {}
    if executed is not None and executed.is_file():
        write_atomic(folder / f"{stamp}.ipynb", executed.read_bytes())
        files["notebook"] = f"{stamp}.ipynb"
    error_path = write_atomic(folder / f"{stamp}.error.txt", error_text.rstrip() + "\n")
    files["error"] = error_path.name
    full = {**record, "files": files}
    write_atomic(folder / f"{stamp}.json", json.dumps(full, indent=2, default=str) + "\n")
    prune_stamped(folder, FAILED_KEEP)
    cap_failed(out_dir, keep=(folder, stamp))
    return error_path


def cap_failed(
    out_dir: Path, limit: int | None = None, *, keep: tuple[Path, str] | None = None
) -> int:
    """Remove the oldest failed attempts under ``<out_dir>/_failed/`` until all of them take
    at most ``limit`` bytes (default :data:`FAILED_MAX_BYTES`); ``keep`` (a run folder and a
    stamp: the attempt just archived) stays whatever its size. Links are passed over.

    Returns
    -------
    int
        The bytes the kept attempts take.
    """
    limit = FAILED_MAX_BYTES if limit is None else limit
    out_dir = Path(out_dir).resolve()
    attempts: dict[tuple[Path, str], list[Path]] = {}
    sizes: dict[tuple[Path, str], int] = {}
    for folder in (out_dir / FAILED_NAME).glob("*/*"):
        if folder.is_symlink() or not folder.is_dir() or not no_links(out_dir, folder):
            continue
        for path in folder.iterdir():
            if path.is_symlink() or not path.is_file():
                continue
            key = (folder, path.name.split(".", 1)[0])
            attempts.setdefault(key, []).append(path)
            sizes[key] = sizes.get(key, 0) + path.stat().st_size
    total = sum(sizes.values())
    for key in sorted(attempts, key=lambda k: k[1]):  # stamps sort in time order
        if total <= limit:
            break
        if key == keep:
            continue
        for path in attempts[key]:
            path.unlink(missing_ok=True)
        total -= sizes[key]
    return total


def prune_stamped(folder: Path, keep: int, prefix: str = "") -> None:
    """Keep the newest ``keep`` groups of files named ``<prefix><stamp>.<suffix>`` in ``folder``.

    A group is every file sharing the part of its name before the first dot; stamps sort in
    time order by name. Files not starting with ``prefix`` are left alone.
    """
    stamps = sorted(
        {p.name.split(".", 1)[0] for p in folder.iterdir() if p.name.startswith(prefix)},
        reverse=True,
    )
    for old in stamps[keep:]:
        for path in folder.glob(f"{glob.escape(old)}.*"):
            path.unlink(missing_ok=True)


# -- what an output folder holds ------------------------------------------------------------------


def _notebook_dirs(out_dir: Path) -> list[Path]:
    if not out_dir.is_dir():
        return []
    return sorted(
        p
        for p in out_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "_"))
    )


def _read_json(path: Path, reader: Callable[[Path], dict[str, Any]]) -> dict | None:
    """A manifest or failure record read safely (:mod:`helpers.jsonfile`), or None: a file
    that breaks the rules is passed over with a warning (once per file and problem)."""
    try:
        return reader(path)
    except FileNotFoundError:
        return None
    except JSONFileError as exc:
        _warn_once(path, f"passed over {exc}")
        return None


_WARNED: set[tuple[str, str]] = set()


def _warn_once(path: Path, message: str) -> None:
    key = (str(path), message)
    if key not in _WARNED:
        _WARNED.add(key)
        _log.warning("%s", message)


#: A version folder's name as :func:`publish_run` makes it: its stamp and a short random id.
_VERSION_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


def published_run(notebook_dir: Path, entry: Path) -> bool:
    """Whether ``<notebook>/<entry>`` is a run brief published: a run link made by
    :func:`publish_run` (``.versions/<run>/<version>``, relative) to a real version folder.

    A plain folder (a copy of a run, a folder made by hand) or a link anywhere else is not
    one, whatever its manifest says: it is neither listed in the index nor taken as the
    previous edition of a series (whose wording a new edition would print as corrected).
    """
    if not entry.is_symlink() or not _RUN_RE.match(entry.name):
        return False
    try:
        target = Path(os.readlink(entry))
    except OSError:
        return False
    parts = target.parts
    if (
        len(parts) != 3
        or parts[0] != VERSIONS_NAME
        or parts[1] != entry.name
        or not _VERSION_RE.match(parts[2])
    ):
        return False
    version = notebook_dir / target
    return no_links(notebook_dir, version) and version.is_dir()


def read_published(notebook_dir: Path, entry: Path) -> dict[str, Any] | None:
    """The manifest of a run brief published (:func:`published_run`), read safely and
    naming this notebook and run if it names any; else None (with a warning for a manifest
    that breaks the rules)."""
    if not published_run(notebook_dir, entry):
        return None
    manifest = _read_json(entry / "manifest.json", read_manifest)
    if manifest is None:
        return None
    for key, wanted in (("notebook", notebook_dir.name), ("run", entry.name)):
        if manifest.get(key) not in (None, wanted):
            _warn_once(
                entry,
                f"passed over {entry / 'manifest.json'}: it names {key} "
                f"{str(manifest.get(key))[:80]!r}, not {wanted!r}",
            )
            return None
    return manifest


def list_runs(out_dir: Path) -> list[dict[str, Any]]:
    """Every run in an output folder, newest attempt first.

    A run is a ``(notebook, run)`` pair. Its row combines the published manifest, if any, with
    the latest failed attempt, if that is newer.

    Returns
    -------
    list of dict
        Keys: ``notebook``, ``run``, ``status`` (``"ok"`` or ``"failed"``), ``when`` (UTC ISO
        time of the latest attempt), ``manifest`` (the published run's manifest or ``None``),
        ``failure`` (the latest newer failure record or ``None``), and ``href`` (links,
        relative to ``out_dir``: ``html``, ``pdf``, ``ipynb``, ``manifest``, ``failed_ipynb``,
        ``error``).
    """
    out_dir = Path(out_dir)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for notebook_dir in _notebook_dirs(out_dir):
        for entry in sorted(notebook_dir.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            manifest = read_published(notebook_dir, entry)
            if manifest is None:
                continue
            base = f"{notebook_dir.name}/{entry.name}"
            href = {"manifest": f"{base}/manifest.json"}
            for name in manifest.get("outputs", {}):
                href[Path(name).suffix.lstrip(".")] = f"{base}/{name}"
            rows[(notebook_dir.name, entry.name)] = {
                "notebook": notebook_dir.name,
                "run": entry.name,
                "status": "ok",
                "when": manifest.get("created_at", ""),
                "manifest": manifest,
                "failure": None,
                "href": href,
            }
    failed_root = out_dir / FAILED_NAME
    for notebook_dir in _notebook_dirs(failed_root):
        for run_dir in sorted(p for p in notebook_dir.iterdir() if p.is_dir()):
            if run_dir.is_symlink() or not _RUN_RE.match(run_dir.name):
                continue
            records = sorted(run_dir.glob("*.json"), reverse=True)
            record = next(
                (r for r in (_read_json(p, read_failure_record) for p in records) if r), None
            )
            if record is None:
                continue
            key = (notebook_dir.name, run_dir.name)
            when = record.get("created_at", "")
            row = rows.get(key)
            if row is not None and row["when"] >= when:
                continue
            if row is None:
                row = rows[key] = {
                    "notebook": key[0],
                    "run": key[1],
                    "manifest": None,
                    "href": {},
                }
            base = f"{FAILED_NAME}/{key[0]}/{key[1]}"
            files = record.get("files", {})
            if "notebook" in files:
                row["href"]["failed_ipynb"] = f"{base}/{files['notebook']}"
            if "error" in files:
                row["href"]["error"] = f"{base}/{files['error']}"
            row.update(status="failed", when=when, failure=record)
    return sorted(rows.values(), key=lambda r: (r["when"], r["notebook"], r["run"]), reverse=True)
