"""Read the scheduling recipes out of the docs, for scripts/check-scheduling.sh.

The recipes are taken from the pages a reader copies them from (docs/scheduling.md and
docs/examples/brief-daily.yml), never from copies, so the check runs what the docs say.

    scheduling_recipes.py extract DOC WORKFLOW   the recipes, as bash assignments
    scheduling_recipes.py service UNIT_FILE      a service's WorkingDirectory, Environment and
                                                 ExecStart, as bash assignments
    scheduling_recipes.py service-dropin UNIT_FILE DROPIN
                                                 the same, with a drop-in over it
    scheduling_recipes.py artifacts DIR PATHS    how many files each upload path matches in DIR
    scheduling_recipes.py published OUT          the runs the last batch in OUT published
    scheduling_recipes.py substitute ROOT VENV OUT PLAN   (recipe on stdin) the recipe with
                                                 this check's paths; PLAN "" keeps the plan

Every command prints one problem a line on stderr and exits 1 when it finds any.
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import sys
from pathlib import Path

import yaml


class RecipeError(Exception):
    """A recipe is missing from its page, or is not in a form this script can run."""


def _assign(name: str, value: str | list[str]) -> str:
    if isinstance(value, list):
        return f"{name}=({' '.join(shlex.quote(v) for v in value)})"
    return f"{name}={shlex.quote(value)}"


# -- docs/scheduling.md ----------------------------------------------------------------------


def fenced_blocks(text: str, info: str) -> list[str]:
    """The bodies of the Markdown code blocks opened with ```<info>."""
    return re.findall(rf"^```{re.escape(info)}[ \t]*\n(.*?)^```[ \t]*$", text, re.M | re.S)


def cron_line(doc: str, info: str = "cron") -> tuple[str, str]:
    """The one job line of the page's ```cron block (```cron send: the delivering one), and
    its command (after the schedule)."""
    blocks = fenced_blocks(doc, info)
    if len(blocks) != 1:
        raise RecipeError(f"expected one ```{info} block, found {len(blocks)}")
    jobs = [
        line
        for line in blocks[0].splitlines()
        if line.strip()
        and not line.lstrip().startswith("#")
        and not re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=", line)  # MAILTO=... and the like
    ]
    if len(jobs) != 1:
        raise RecipeError(f"expected one job line in the ```{info} block, found {len(jobs)}")
    fields = 1 if jobs[0].lstrip().startswith("@") else 5
    match = re.match(rf"\s*(?:\S+\s+){{{fields}}}(\S.*)$", jobs[0])
    if not match:
        raise RecipeError(f"the cron line has no command after its schedule: {jobs[0]!r}")
    return jobs[0], match.group(1)


def flock_file(command: str) -> str:
    """The file the command's ``flock`` locks."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise RecipeError(f"the cron command is not valid shell: {exc}") from None
    if "flock" not in words:
        raise RecipeError("the cron command runs no flock")
    with_argument = {"-E", "--conflict-exit-code", "-w", "--wait", "--timeout"}
    rest = iter(words[words.index("flock") + 1 :])
    for word in rest:
        if word in with_argument:
            next(rest, None)
        elif not word.startswith("-"):
            return word
    raise RecipeError("the cron command's flock names no lock file")


def units(doc: str) -> dict[str, str]:
    """The unit files the page gives, by name: a `/etc/systemd/system/NAME`: line, then ```ini."""
    found = re.findall(
        r"^`/etc/systemd/system/([\w@.-]+)`:[ \t]*\n\s*```ini[ \t]*\n(.*?)^```", doc, re.M | re.S
    )
    named = dict(found)
    services = [name for name in named if name.endswith(".service")]
    timers = [name for name in named if name.endswith(".timer")]
    if len(services) != 1 or len(timers) != 1:
        raise RecipeError(
            "expected one .service and one .timer block (a `/etc/systemd/system/NAME`: line, "
            f"then ```ini), found {sorted(named) or 'none'}"
        )
    return named


def cron_environment(doc: str, info: str) -> list[str]:
    """The ``NAME=value`` lines of a ```cron block but MAILTO, as cron gives them to the job."""
    (block,) = fenced_blocks(doc, info)
    return [
        line.strip()
        for line in block.splitlines()
        if re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=", line)
        and not line.strip().startswith("MAILTO")
    ]


#: The delivering variant's drop-in for the service (docs/scheduling.md, "Delivering by email").
DROPIN = "brief-daily.service.d/send.conf"


def dropin(doc: str) -> str:
    """The drop-in the page gives for the delivering variant: its path line, then ```ini."""
    found = re.findall(
        rf"^`/etc/systemd/system/{re.escape(DROPIN)}`:[ \t]*\n\s*```ini[ \t]*\n(.*?)^```",
        doc,
        re.M | re.S,
    )
    if len(found) != 1:
        raise RecipeError(f"expected one /etc/systemd/system/{DROPIN} block, found {len(found)}")
    return found[0]


# -- docs/examples/brief-daily.yml -----------------------------------------------------------


def workflow_steps(workflow: dict) -> tuple[list[dict], dict[str, str], int | None]:
    """The steps of the workflow's one job, the environment they get, and its time limit."""
    jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
    if not isinstance(jobs, dict) or len(jobs) != 1:
        raise RecipeError("expected a workflow with exactly one job")
    (job,) = jobs.values()
    steps = job.get("steps")
    if not isinstance(steps, list) or not steps:
        raise RecipeError("the workflow's job has no steps")
    env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
    shell = ((job.get("defaults") or {}).get("run") or {}).get("shell")
    out = []
    for number, step in enumerate(steps, 1):
        label = step.get("name") or step.get("uses") or f"step {number}"
        when = str(step.get("if", "")).strip().removeprefix("${{").removesuffix("}}").strip()
        if when not in ("", "always()", "success()"):
            raise RecipeError(f"step {number} ({label}): cannot evaluate if: {when}")
        entry = {
            "label": label,
            "always": when == "always()",
            "uses": step.get("uses", ""),
            "run": step.get("run", ""),
            "shell": step.get("shell") or shell or "",
            "dir": step.get("working-directory", ""),
            "env": {**env, **(step.get("env") or {})},
            "paths": "",
        }
        if "${{" in entry["run"]:
            raise RecipeError(f"step {number} ({label}): expressions in run: are not supported")
        if entry["shell"] not in ("", "bash", "sh"):
            raise RecipeError(f"step {number} ({label}): shell {entry['shell']} not supported")
        if entry["uses"].startswith("actions/upload-artifact@"):
            entry["paths"] = str((step.get("with") or {}).get("path", ""))
            if not entry["paths"].strip():
                raise RecipeError(f"step {number} ({label}): upload-artifact without a path")
        if not entry["run"] and not entry["uses"]:
            raise RecipeError(f"step {number} ({label}): neither run: nor uses:")
        out.append(entry)
    return out, env, job.get("timeout-minutes")


def extract(doc_path: Path, workflow_path: Path) -> list[str]:
    doc = doc_path.read_text(encoding="utf-8")
    problems, lines = [], []
    try:
        line, command = cron_line(doc)
        lines += [
            _assign("cron_line", line),
            _assign("cron_command", command),
            _assign("cron_lock", flock_file(command)),
        ]
    except RecipeError as exc:
        problems.append(f"{doc_path}: cron: {exc}")
    try:
        _, command = cron_line(doc, "cron send")
        lines += [
            _assign("send_cron_command", command),
            _assign("send_cron_env", cron_environment(doc, "cron send")),
            _assign("send_dropin_text", dropin(doc)),
        ]
    except RecipeError as exc:
        problems.append(f"{doc_path}: delivering variant: {exc}")
    try:
        named = units(doc)
        lines += [_assign("unit_names", list(named)), _assign("unit_texts", list(named.values()))]
    except RecipeError as exc:
        problems.append(f"{doc_path}: systemd: {exc}")
    try:
        workflow = yaml.safe_load(workflow_path.read_text(encoding="utf-8"))
        steps, _, minutes = workflow_steps(workflow)
        for key in ("label", "uses", "run", "shell", "dir", "paths"):
            lines.append(_assign(f"ci_{key}", [step[key] for step in steps]))
        lines.append(_assign("ci_always", ["1" if step["always"] else "" for step in steps]))
        # Each step's environment, as NAME=value words for env(1).
        lines.append(
            _assign(
                "ci_env",
                [" ".join(shlex.quote(f"{k}={v}") for k, v in s["env"].items()) for s in steps],
            )
        )
        lines.append(_assign("ci_timeout_minutes", str(minutes or "")))
    except (RecipeError, yaml.YAMLError, AttributeError) as exc:
        problems.append(f"{workflow_path}: {exc}")
    if problems:
        raise RecipeError("\n".join(problems))
    return lines


# -- a unit file, as systemd would run it ----------------------------------------------------


def service(unit_path: Path, dropin_path: Path | None = None) -> list[str]:
    """WorkingDirectory, Environment and ExecStart of a [Service] section, with a drop-in's
    settings over them (an empty ``ExecStart=`` clears the ones before it, as in systemd;
    an ``EnvironmentFile=`` is listed, for the caller to read or leave)."""
    section, workdir, env, execs, files = "", "", [], [], []
    text = unit_path.read_text(encoding="utf-8")
    if dropin_path is not None:
        text += "\n" + dropin_path.read_text(encoding="utf-8")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key == "WorkingDirectory":
            workdir = value
        elif key == "Environment":
            env += shlex.split(value)
        elif key == "ExecStart":
            execs = [*execs, value] if value else []
        elif key == "EnvironmentFile":
            files.append(value)
    if len(execs) != 1:
        raise RecipeError(f"{unit_path}: expected one ExecStart=, found {len(execs)}")
    command = execs[0]
    # systemd's own additions to a command line: prefixes, %-specifiers, $VARIABLES.
    if command[:1] in "-@:+!" or "%" in command or "$" in command:
        raise RecipeError(f"{unit_path}: ExecStart= uses systemd syntax not supported: {command}")
    if not workdir.startswith("/"):
        raise RecipeError(f"{unit_path}: expected an absolute WorkingDirectory=, got {workdir!r}")
    return [
        _assign("svc_workdir", workdir),
        _assign("svc_env", env),
        _assign("svc_exec", shlex.split(command)),
        _assign("svc_envfiles", files),
    ]


# -- what a run left behind ------------------------------------------------------------------


def artifacts(root: Path, paths: str) -> list[str]:
    """For each upload-artifact path (one a line; ``!`` lines exclude), the files it matches."""
    lines, problems = [], []
    for pattern in (p.strip() for p in paths.splitlines()):
        if not pattern or pattern.startswith("!"):
            continue
        files = set()
        for match in glob.glob(str(root / pattern), recursive=True):
            if Path(match).is_dir():
                files.update(p for p in Path(match).rglob("*") if p.is_file())
            elif Path(match).is_file():
                files.add(Path(match))
        if files:
            lines.append(f"{pattern} matches {len(files)} file{'s' * (len(files) != 1)}")
        else:
            problems.append(f"{pattern} matches no file")
    if problems:
        raise RecipeError("\n".join(problems))
    return lines


def published(out: Path) -> list[str]:
    """The last batch's record in ``out/_logs``: it ended with 0, and every job's run is there."""
    records = sorted((out / "_logs").glob("batch-*.json"))
    if not records:
        raise RecipeError(f"no batch record in {out / '_logs'}")
    record = json.loads(records[-1].read_text(encoding="utf-8"))
    problems = []
    if record.get("exit_code") != 0:
        problems.append(f"{records[-1]}: exit_code {record.get('exit_code')}")
    jobs = record.get("jobs") or []
    if not jobs:
        problems.append(f"{records[-1]}: no jobs")
    for job in jobs:
        path = Path(job.get("path") or "")
        if not (path.is_relative_to(out.resolve()) and (path / "manifest.json").is_file()):
            problems.append(f"{job.get('entry')}: no published run at {path}")
    if not (out / "index.html").is_file():
        problems.append(f"no {out / 'index.html'}")
    if problems:
        raise RecipeError("\n".join(problems))
    return [f"{len(jobs)} run{'s' * (len(jobs) != 1)} published in {out}"]


#: What the recipes name, and stand-ins for it while it is replaced.
EXAMPLE_ROOT = "/srv/myanmar-brief"
EXAMPLE_OUT = "/srv/briefs"
EXAMPLE_PLAN = "plans/daily.yaml"
EXAMPLE_VENV = ".venv/bin/"


def substitute(text: str, root: str, venv: str, out: str, plan: str = "") -> str:
    """A recipe's text with this check's paths: the checkout for ``/srv/myanmar-brief``, the
    virtualenv ``venv`` for ``.venv`` in it, ``out`` for ``/srv/briefs`` and, if given,
    ``plan`` for ``plans/daily.yaml``.

    Each example path is replaced in one pass (by a regular expression that matches all of
    them at once), so a replacement is never searched again: a checkout whose own path holds
    ``/srv/briefs`` or ``plans/daily.yaml`` stays whole.

    Raises
    ------
    RecipeError
        The recipe does not publish into ``/srv/briefs``, or (with ``plan``) does not render
        ``plans/daily.yaml``: it could not be pointed at this check's folders.
    """
    if EXAMPLE_OUT not in text:
        raise RecipeError(
            f"it does not publish into {EXAMPLE_OUT}, so it cannot be pointed elsewhere: {text}"
        )
    if plan and EXAMPLE_PLAN not in text:
        raise RecipeError(f"it does not render {EXAMPLE_PLAN}, so --plan cannot replace it: {text}")
    venv_bin = venv.rstrip("/") + "/bin/"
    replacements = {
        f"{EXAMPLE_ROOT}/{EXAMPLE_VENV}": venv_bin,
        EXAMPLE_ROOT: root,
        EXAMPLE_OUT: out,
        **({EXAMPLE_PLAN: plan} if plan else {}),
    }
    # A relative .venv/bin/ (after `cd /srv/myanmar-brief`) is the virtualenv too, unless it
    # is part of a longer path.
    pattern = "|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True))
    pattern += rf"|(?<![\w./-]){re.escape(EXAMPLE_VENV)}"
    return re.sub(pattern, lambda m: replacements.get(m[0], venv_bin), text)


def main(argv: list[str]) -> int:
    if argv[:1] == ["substitute"] and len(argv) == 5:
        try:
            print(substitute(sys.stdin.read().rstrip("\n"), *argv[1:]))
        except RecipeError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    commands = {
        "extract": (2, lambda a: extract(Path(a[0]), Path(a[1]))),
        "service": (1, lambda a: service(Path(a[0]))),
        "service-dropin": (2, lambda a: service(Path(a[0]), Path(a[1]))),
        "artifacts": (2, lambda a: artifacts(Path(a[0]), a[1])),
        "published": (1, lambda a: published(Path(a[0]))),
    }
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][0]:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        print("\n".join(commands[argv[0]][1](argv[1:])))
    except (RecipeError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
