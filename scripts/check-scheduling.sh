#!/usr/bin/env bash
# Run the scheduling recipes on this checkout, as cron, systemd and GitHub Actions would.
#
# The recipes are read from docs/scheduling.md and docs/examples/brief-daily.yml themselves
# (scripts/scheduling_recipes.py), never from copies; /srv/myanmar-brief becomes this checkout,
# /srv/briefs and the cron lock become temporary paths, User=/Group= the current user.
#   systemd  systemd-analyze verify on the two units; the service's ExecStart= run in its
#            WorkingDirectory= with its Environment=, as systemd would
#   cron     the cron command under cron's environment (env -i, PATH=/usr/bin:/bin, sh):
#            it exits 0, prints nothing and publishes; with its flock lock held, and then
#            with brief's own lock held, it exits 75 and says so on stderr
#   ci       the workflow's steps in order in a git clone of this checkout (its uncommitted
#            changes laid over), honouring `if: always()`; each upload-artifact path must
#            match a file afterwards
#   send     the delivering variants, against an SMTP server (aiosmtpd) on 127.0.0.1: the
#            cron line (as cron runs it, with its block's BRIEF_* variables) publishes and
#            mails one message per deliver: address of the plan; then the drop-in's
#            ExecStart= (over the service) finds nothing new, publishes and mails nothing
#
# Usage: scripts/check-scheduling.sh [--plan FILE] [--reuse-venv] [--only NAME]...
#                                    [--doc FILE] [--workflow FILE] [--keep]
#   --plan FILE      render FILE wherever a recipe names plans/daily.yaml (the tests give a
#                    one-job plan: the 8 jobs of plans/daily.yaml take ~45 s per recipe)
#   --reuse-venv     in the CI steps, link this checkout's virtualenv ($VENV, default .venv)
#                    instead of running `make install` (Debian packages and a pip install)
#   --only NAME      extract, systemd, cron, ci or send; repeatable. Default: all of them
#   --doc FILE       the scheduling page (default: docs/scheduling.md)
#   --workflow FILE  the workflow (default: docs/examples/brief-daily.yml)
#   --keep           keep the work folder (runs, logs, the clone) and say where it is
#
# Prints one line per check: "ok ...", "skipped ... (reason)" or "FAILED ..." (then the end of
# what the failing command printed, indented). Exits 1 if any check failed, 2 on a usage error.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
helper=$root/scripts/scheduling_recipes.py
# The virtualenv: the Makefile's VENV (make check-scheduling passes it), else .venv; a
# relative one is taken from the checkout, as make takes it.
venv=${VENV:-.venv}
[[ $venv == /* ]] || venv=$root/$venv
py=$venv/bin/python
doc=$root/docs/scheduling.md
workflow=$root/docs/examples/brief-daily.yml
plan=""
reuse_venv=""
keep=""
only=()
run_timeout=30m # a bound on any one recipe run, so a hang fails the check instead

usage() {
  sed -n '/^# Usage:/,/^#   --keep/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit "${1:-2}"
}

while [ $# -gt 0 ]; do
  case $1 in
    --plan) plan=$(realpath "${2:?--plan needs a file}") && shift ;;
    --reuse-venv) reuse_venv=1 ;;
    --only) only+=("${2:?--only needs a name}") && shift ;;
    --doc) doc=$(realpath "${2:?--doc needs a file}") && shift ;;
    --workflow) workflow=$(realpath "${2:?--workflow needs a file}") && shift ;;
    --keep) keep=1 ;;
    -h | --help) usage 0 ;;
    *) echo "unknown option: $1" >&2 && usage >&2 ;;
  esac
  shift
done
[ ${#only[@]} -gt 0 ] || only=(extract systemd cron ci send)
for name in "${only[@]}"; do
  case $name in extract | systemd | cron | ci | send) ;; *) echo "unknown check: $name" >&2 && usage >&2 ;; esac
done
if [ -n "$plan" ] && [ ! -f "$plan" ]; then
  echo "no plan file $plan" >&2
  exit 2
fi

failures=0
ok() { echo "ok $*"; }
skipped() { echo "skipped $*"; }
failed() {
  echo "FAILED $*"
  failures=$((failures + 1))
}
# The end of a log, indented, after a FAILED line.
show() { tail -n "${2:-20}" "$1" | sed 's/^/    /'; }
wanted() { [[ " ${only[*]} " == *" $1 "* ]]; }

work=$(mktemp -d "${TMPDIR:-/tmp}/check-scheduling.XXXXXX")
holders=() # background processes holding a lock
cleanup() {
  for pid in "${holders[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [ -n "$keep" ]; then
    echo "work folder kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

user=$(id -un)
group=$(id -gn)
cron_cmd="" # the cron command with this check's paths (check_cron)

# -- the recipes, from the docs --------------------------------------------------------------

if [ ! -x "$py" ]; then
  failed "extract: no $py; run make install first (or give the virtualenv as VENV=...)"
  exit 1
fi
if ! "$py" "$helper" extract "$doc" "$workflow" >"$work/recipes.sh" 2>"$work/extract.err"; then
  while IFS= read -r line; do failed "extract: $line"; done <"$work/extract.err"
  exit 1
fi
# What scheduling_recipes.py prints: the cron line, its command and lock; the unit files by
# name; per CI step its name, uses:, run:, shell:, working-directory:, upload path:, whether
# it runs always(), its env: (as words for env(1)); the job's timeout-minutes.
cron_line="" cron_command="" cron_lock="" ci_timeout_minutes=""
send_cron_command="" send_dropin_text="" send_cron_env=()
unit_names=() unit_texts=()
ci_label=() ci_uses=() ci_run=() ci_shell=() ci_dir=() ci_paths=() ci_always=() ci_env=()
# shellcheck source=/dev/null
source "$work/recipes.sh"

service=""
timer=""
for name in "${unit_names[@]}"; do
  case $name in *.service) service=$name ;; *.timer) timer=$name ;; esac
done
service_text=""
for i in "${!unit_names[@]}"; do
  [ "${unit_names[i]}" != "$service" ] || service_text=${unit_texts[i]}
done

if wanted extract; then
  ok "extract: cron line from $doc: $cron_line"
  ok "extract: cron lock: $cron_lock"
  ok "extract: systemd units from $doc: $service ($(grep -m1 '^ExecStart=' <<<"$service_text")), $timer"
  runs=0
  for i in "${!ci_label[@]}"; do [ -z "${ci_run[i]}" ] || runs=$((runs + 1)); done
  ok "extract: CI steps from $workflow: ${#ci_label[@]} steps, $runs with run:"
  ok "extract: delivering cron line and drop-in from $doc:" \
    "${send_cron_env[*]}; $(grep -c '^ExecStart=' <<<"$send_dropin_text") ExecStart= lines"
fi

# A recipe's text with the paths of this check: the checkout, its virtualenv, an output
# folder, the plan; in one pass, so that a checkout whose path holds an example path stays
# whole. Fails (and prints why) if the recipe does not name what is to be replaced.
substitute() {
  printf '%s\n' "$1" | "$py" "$helper" substitute "$root" "$venv" "$2" "$plan"
}

# -- systemd ---------------------------------------------------------------------------------

check_systemd() {
  local dir=$work/systemd out=$work/systemd/out i text rc help ours others
  local -a units=() flags=()
  mkdir -p "$dir/units"
  for i in "${!unit_names[@]}"; do
    text=${unit_texts[i]}
    if [ "${unit_names[i]}" = "$service" ]; then
      if ! text=$(substitute "$text" "$out" 2>"$dir/substitute.err"); then
        failed "systemd: $service: $(cat "$dir/substitute.err")"
        return
      fi
    fi
    if [ "${unit_names[i]}" != "$service" ]; then
      text=${text//"/srv/myanmar-brief"/"$root"}
    fi
    printf '%s\n' "$text" |
      sed -e "s/^User=.*/User=$user/" -e "s/^Group=.*/Group=$group/" >"$dir/units/${unit_names[i]}"
    units+=("$dir/units/${unit_names[i]}")
  done

  if ! command -v systemd-analyze >/dev/null; then
    skipped "systemd-analyze verify (no systemd-analyze)"
  else
    # Only our units: not the units they name (timers.target, ...), no generators (they need a
    # running systemd), no man pages. Older systemd lacks some of these flags.
    help=$(systemd-analyze --help 2>&1 || true)
    for flag in --recursive-errors=no --generators=no --man=no; do
      [[ $help != *"${flag%%=*}"* ]] || flags+=("$flag")
    done
    rc=0
    systemd-analyze verify "${flags[@]}" "${units[@]}" >"$dir/verify.out" 2>&1 || rc=$?
    ours=$(grep -F -e "$dir/units/" -e "$service" -e "$timer" "$dir/verify.out" || true)
    others=$(($(grep -c . "$dir/verify.out" || true) - $(grep -c . <<<"$ours" || true)))
    # With --recursive-errors=no a non-zero exit is about our units; without it, it may not be.
    if [ -n "$ours" ] || { [ "$rc" -ne 0 ] && [[ " ${flags[*]} " == *" --recursive-errors=no "* ]]; }; then
      failed "systemd-analyze verify $service $timer: exit $rc"
      show "$dir/verify.out"
    else
      ok "systemd-analyze verify $service $timer: exit $rc, no message about them" \
        "(${flags[*]}; $others line(s) about other units ignored)"
    fi
  fi

  # ExecStart=, as systemd runs it: in WorkingDirectory=, with Environment= and the
  # environment systemd gives a service with User= (no shell, stdin from /dev/null).
  if ! "$py" "$helper" service "$dir/units/$service" >"$dir/service.sh" 2>"$dir/service.err"; then
    failed "systemd: $(cat "$dir/service.err")"
    return
  fi
  local svc_workdir="" start=$SECONDS
  local -a svc_env=() svc_exec=()
  # shellcheck source=/dev/null
  source "$dir/service.sh"
  rc=0
  (cd "$svc_workdir" && exec timeout -k 30s "$run_timeout" env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$HOME" USER="$user" LOGNAME="$user" SHELL=/bin/sh "${svc_env[@]}" "${svc_exec[@]}") \
    </dev/null >"$dir/run.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    failed "systemd: ExecStart=${svc_exec[*]}: exit $rc"
    show "$dir/run.log"
  elif ! "$py" "$helper" published "$out" >"$dir/published" 2>&1; then
    failed "systemd: ExecStart=${svc_exec[*]}: exit 0, but:"
    show "$dir/published"
  else
    ok "systemd: ExecStart=${svc_exec[*]} (in $svc_workdir, ${svc_env[*]}):" \
      "exit 0 in $((SECONDS - start)) s, $(cat "$dir/published")"
  fi
}

# -- cron ------------------------------------------------------------------------------------

# Hold a lock in the background, as a run still going would; wait until it is held.
hold() {
  flock -F "$1" sleep 600 &
  holders+=("$!")
  local _
  for _ in $(seq 100); do
    flock -n "$1" true || return 0
    sleep 0.1
  done
  echo "could not hold $1" >&2
  return 1
}
release() {
  kill "${holders[-1]}" 2>/dev/null || true
  wait "${holders[-1]}" 2>/dev/null || true
  unset 'holders[-1]'
}

# The cron command as cron runs it: /bin/sh, cron's few variables, from the home folder.
cron_run() {
  local name=$1 dir=$work/cron rc=0
  (cd "$HOME" && exec timeout -k 30s "$run_timeout" env -i HOME="$HOME" LOGNAME="$user" \
    SHELL=/bin/sh PATH=/usr/bin:/bin sh -c "$cron_cmd") \
    </dev/null >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
  echo "$rc" >"$dir/$name.rc"
}

check_cron() {
  local dir=$work/cron out=$work/cron/out lock rc start=$SECONDS
  mkdir -p "$dir"
  lock=$dir/$(basename "$cron_lock")
  if ! cron_cmd=$(substitute "${cron_command//"$cron_lock"/"$lock"}" "$out" 2>"$dir/substitute.err"); then
    failed "cron: $(cat "$dir/substitute.err")"
    return
  fi

  cron_run first
  rc=$(cat "$dir/first.rc")
  if [ "$rc" -ne 0 ]; then
    failed "cron: exit $rc"
    show "$dir/first.err"
    return
  elif [ -s "$dir/first.out" ] || [ -s "$dir/first.err" ]; then
    failed "cron: exit 0, but it printed something, which cron would mail every morning:"
    show "$dir/first.out"
    show "$dir/first.err"
  elif ! "$py" "$helper" published "$out" >"$dir/published" 2>&1; then
    failed "cron: exit 0, but:"
    show "$dir/published"
  else
    ok "cron: exit 0 in $((SECONDS - start)) s, nothing printed, $(cat "$dir/published")"
  fi

  # A run still going holds the flock lock: the next one exits 75 and says so on stderr.
  hold "$lock" || {
    failed "cron: could not hold $lock"
    return
  }
  cron_run flock-held
  release
  rc=$(cat "$dir/flock-held.rc")
  if [ "$rc" -ne 75 ] || [ "$(grep -c . "$dir/flock-held.err")" -ne 1 ] ||
    ! grep -qF "$lock" "$dir/flock-held.err" || [ -s "$dir/flock-held.out" ]; then
    failed "cron: with $lock held: exit $rc (want 75, one line on stderr naming the lock," \
      "nothing on stdout); stderr:"
    show "$dir/flock-held.err"
  else
    ok "cron: with the flock lock held: exit 75, stderr: $(cat "$dir/flock-held.err")"
  fi

  # A brief run started by hand holds brief's own lock: exit 75 too, and a message.
  hold "$out/.brief.lock" || {
    failed "cron: could not hold $out/.brief.lock"
    return
  }
  cron_run brief-held
  release
  rc=$(cat "$dir/brief-held.rc")
  if [ "$rc" -ne 75 ] || ! grep -qF "$out/.brief.lock" "$dir/brief-held.err"; then
    failed "cron: with $out/.brief.lock held: exit $rc (want 75, and the lock named on stderr);" \
      "stderr:"
    show "$dir/brief-held.err"
  else
    ok "cron: with brief's lock held: exit 75, stderr: $(paste -sd '|' "$dir/brief-held.err")"
  fi
}

# -- CI: GitHub Actions ----------------------------------------------------------------------

# What actions/checkout gives, with this checkout's uncommitted changes (the docs and scripts
# being checked, say) laid over a clone of its last commit.
checkout() {
  local ws=$1 file count=0
  git clone -q "$root" "$ws" || return 1
  while IFS= read -r -d '' file; do
    if [ -e "$root/$file" ] || [ -L "$root/$file" ]; then
      mkdir -p "$(dirname "$ws/$file")"
      cp -P "$root/$file" "$ws/$file"
    else
      rm -f "$ws/$file"
    fi
    count=$((count + 1))
  done < <(git -C "$root" ls-files -z --modified --others --exclude-standard)
  echo "$count"
}

check_ci() {
  local dir=$work/ci ws=$work/ci/workspace i label script rc start job_failed="" \
    plan_named="" setup_replaced="" count
  local -a shell=() env_words=()
  mkdir -p "$dir" "$ws" "$dir/home"
  for i in "${!ci_label[@]}"; do
    label="CI step $((i + 1)) '${ci_label[i]}'"
    if [ -n "$job_failed" ] && [ -z "${ci_always[i]}" ]; then
      skipped "$label (an earlier step failed, and it has no if: always())"
      continue
    fi
    case ${ci_uses[i]} in
      actions/checkout@*)
        rmdir "$ws"
        if count=$(checkout "$ws" 2>"$dir/checkout.err"); then
          ok "$label: git clone of this checkout, $count uncommitted file(s) laid over"
        else
          failed "$label: git clone of this checkout"
          show "$dir/checkout.err"
          job_failed=1
        fi
        continue
        ;;
      actions/upload-artifact@*)
        if "$py" "$helper" artifacts "$ws" "${ci_paths[i]}" >"$dir/artifacts" 2>&1; then
          ok "$label: $(paste -sd ';' "$dir/artifacts")"
        else
          failed "$label: $(paste -sd ';' "$dir/artifacts")"
        fi
        continue
        ;;
      ?*)
        skipped "$label (uses: ${ci_uses[i]}: not run here)"
        continue
        ;;
    esac

    script=${ci_run[i]}
    if [ -n "$reuse_venv" ] && [[ $script =~ ^[[:space:]]*make[[:space:]]+(install|setup)[[:space:]]*$ ]]; then
      ln -s "$venv" "$ws/.venv"
      setup_replaced=1
      ok "$label: make ${BASH_REMATCH[1]} replaced by a link to $venv (--reuse-venv)"
      continue
    fi
    if [ -n "$plan" ] && [[ $script == *"plans/daily.yaml"* ]]; then
      script=${script//"plans/daily.yaml"/"$plan"}
      plan_named=1
    fi
    printf '%s\n' "$script" >"$dir/step-$((i + 1)).sh"
    case ${ci_shell[i]} in
      bash) shell=(bash --noprofile --norc -eo pipefail) ;;
      sh) shell=(sh -e) ;;
      *) shell=(bash -e) ;; # what GitHub runs when a step names no shell
    esac
    eval "env_words=(${ci_env[i]})"
    start=$SECONDS
    rc=0
    # A runner's container: a fresh home, the image's PATH, the variables Actions sets.
    (cd "$ws/${ci_dir[i]}" && exec timeout -k 30s "${ci_timeout_minutes:-360}m" env -i \
      HOME="$dir/home" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      CI=true GITHUB_ACTIONS=true GITHUB_WORKSPACE="$ws" "${env_words[@]}" \
      "${shell[@]}" "$dir/step-$((i + 1)).sh") </dev/null >"$dir/step-$((i + 1)).log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
      ok "$label: exit 0 in $((SECONDS - start)) s"
    else
      failed "$label: exit $rc"
      show "$dir/step-$((i + 1)).log"
      job_failed=1
    fi
  done
  if [ -n "$plan" ] && [ -z "$plan_named" ]; then
    failed "CI: no step renders plans/daily.yaml, so --plan cannot replace it"
  fi
  if [ -n "$reuse_venv" ] && [ -z "$setup_replaced" ]; then
    failed "CI: no step runs make install, so --reuse-venv cannot replace it"
  fi
}

# -- the delivering variants ----------------------------------------------------------------

# The messages the test server printed (aiosmtpd's Debugging handler: one banner each).
messages() { grep -c -- '---------- MESSAGE FOLLOWS ----------' "$1" || true; }

# A recipe's BRIEF_* words with the test server's address for BRIEF_SMTP.
send_env() {
  local word
  for word in "$@"; do
    case $word in BRIEF_SMTP=*) echo "BRIEF_SMTP=127.0.0.1:$port" ;; *) echo "$word" ;; esac
  done
}

check_send() {
  local dir=$work/send out=$work/send/out lock rc cmd sent start=$SECONDS port
  local -a env_words=()
  mkdir -p "$dir/units"
  port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$py" -m aiosmtpd -n -l "127.0.0.1:$port" >"$dir/smtp.log" 2>&1 &
  holders+=("$!")
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done

  # cron: publishes the plan's editions and mails each to its deliver: addresses.
  lock=$dir/$(basename "$cron_lock")
  if ! cmd=$(substitute "${send_cron_command//"$cron_lock"/"$lock"}" "$out" 2>"$dir/substitute.err"); then
    failed "send: cron: $(cat "$dir/substitute.err")"
    return
  fi
  mapfile -t env_words < <(send_env "${send_cron_env[@]}")
  rc=0
  (cd "$HOME" && exec timeout -k 30s "$run_timeout" env -i HOME="$HOME" LOGNAME="$user" \
    SHELL=/bin/sh PATH=/usr/bin:/bin "${env_words[@]}" sh -c "$cmd") \
    </dev/null >"$dir/cron.out" 2>"$dir/cron.err" || rc=$?
  sent=$(messages "$dir/smtp.log")
  if [ "$rc" -ne 0 ] || [ -s "$dir/cron.out" ] || [ -s "$dir/cron.err" ]; then
    failed "send: cron: exit $rc (want 0 and nothing printed):"
    show "$dir/cron.err"
    show "$dir/cron.out"
    return
  elif ! "$py" "$helper" published "$out" >"$dir/published" 2>&1; then
    failed "send: cron: exit 0, but:"
    show "$dir/published"
    return
  fi
  ok "send: cron: exit 0 in $((SECONDS - start)) s, nothing printed, $(cat "$dir/published")," \
    "$sent message(s) received by the SMTP server on 127.0.0.1:$port" \
    "$([ "$sent" -gt 0 ] || echo "(the plan names no deliver: addresses)")"

  # systemd: the service with the drop-in over it; nothing new since the cron run.
  printf '%s\n' "$send_dropin_text" >"$dir/units/send.conf"
  if ! substitute "$(grep -m1 '^ExecStart=.' "$dir/units/send.conf")" "$out" >/dev/null 2>"$dir/substitute.err"; then
    failed "send: systemd: $(cat "$dir/substitute.err")"
    return
  fi
  substitute "$service_text" "$out" >"$dir/units/$service"
  substitute "$(cat "$dir/units/send.conf")" "$out" >"$dir/units/send.conf"
  if ! "$py" "$helper" service-dropin "$dir/units/$service" "$dir/units/send.conf" \
    >"$dir/service.sh" 2>"$dir/service.err"; then
    failed "send: systemd: $(cat "$dir/service.err")"
    return
  fi
  local svc_workdir=""
  local -a svc_env=() svc_exec=() svc_envfiles=()
  # shellcheck source=/dev/null
  source "$dir/service.sh"
  mapfile -t env_words < <(send_env "${svc_env[@]}")
  start=$SECONDS
  rc=0
  (cd "$svc_workdir" && exec timeout -k 30s "$run_timeout" env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$HOME" USER="$user" LOGNAME="$user" SHELL=/bin/sh "${env_words[@]}" "${svc_exec[@]}") \
    </dev/null >"$dir/run.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    failed "send: systemd: ExecStart=${svc_exec[*]}: exit $rc"
    show "$dir/run.log"
  elif [ "$(messages "$dir/smtp.log")" -ne "$sent" ]; then
    failed "send: systemd: nothing was new, yet the server received more messages"
    show "$dir/smtp.log"
  else
    ok "send: systemd: ExecStart=${svc_exec[*]} (drop-in; ${env_words[*]};" \
      "EnvironmentFile=${svc_envfiles[*]} not read here): exit 0 in $((SECONDS - start)) s," \
      "nothing new, no message sent"
  fi
}

if wanted systemd; then check_systemd; fi
if wanted cron; then check_cron; fi
if wanted ci; then check_ci; fi
if wanted send; then check_send; fi

[ "$failures" -eq 0 ] || exit 1
