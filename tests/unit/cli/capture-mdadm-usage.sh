#!/usr/bin/env bash
# Re-captures mdadm-4.2-usage.txt: runs the real mdadm on every command line of
# mdadm-usage-cases.txt and records its exit status and stderr (stdout for help).
# Every case fails while parsing options, before any device is opened; as a guard, a case is
# skipped when any /dev path it names exists. Run it only where the real mdadm is installed.
set -euo pipefail
set -f  # no globbing: "--update=?" must reach mdadm as typed
here=$(cd "$(dirname "$0")" && pwd)
cases="$here/mdadm-usage-cases.txt"
out="$here/mdadm-4.2-usage.txt"
mdadm_bin=$(command -v mdadm)
{
  echo "# $("$mdadm_bin" --version 2>&1)"
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    read -ra words <<<"$line"
    args=()
    skip=
    for w in "${words[@]}"; do
      [ "$w" = "''" ] && w=""
      case "$w" in /dev/*) [ -e "$w" ] && skip=1 ;; esac
      args+=("$w")
    done
    if [ -n "$skip" ]; then echo "skipping (device exists): $line" >&2; continue; fi
    rc=0
    err=$( (exec -a mdadm "$mdadm_bin" "${args[@]}" 2>&1 >/dev/null) ) || rc=$?
    echo "### $line"
    echo "rc=$rc"
    printf '%s\n' "$err"
  done <"$cases"
} >"$out"
