#!/usr/bin/env bash
# Builds dist/mdts with `deno compile`. deno compile needs Deno's `denort` runtime: it uses DENORT_BIN
# when set, else downloads it, which fails on machines without internet. In that case we say so and
# leave dist/mdts as a launcher script that runs mod.ts from source with the same permissions; it is
# NOT the compiled binary and says so in its first lines.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
mkdir -p dist
# mdts needs ffi, read, write, run and env; Deno grants access to /dev/* block devices and
# writes under /sys only with --allow-all (and ffi is already full access), so the binary is -A.
PERMS=(--allow-all)
rm -f dist/mdts dist/mdadm dist/mdmon
if [ -n "${DENORT_BIN:-}" ] && [ ! -x "$DENORT_BIN" ]; then
  echo "compile: DENORT_BIN=$DENORT_BIN is not an executable file; falling back to the launcher" >&2
  unset DENORT_BIN
fi
log="$(mktemp)"
if NO_COLOR=1 timeout 120 deno compile --quiet "${PERMS[@]}" --output dist/mdts mod.ts >"$log" 2>&1; then
  echo "compile: built dist/mdts (single binary)"
  kind="binary"
else
  echo "compile: deno compile could not run (no denort runtime: set DENORT_BIN to a denort $(deno --version | head -n1 | cut -d' ' -f2) binary); dist/mdts is a source launcher instead. Cause: $(grep -m1 -E "error sending request|denort-" "$log" | sed -e "s/^ *[0-9]*: *//" | cut -c1-160)"
  cat >dist/mdts <<LAUNCH
#!/bin/sh
# mdts source launcher, written by scripts/compile.sh because deno compile could not run here.
# This is not the compiled single binary: it runs mod.ts from $here with Deno.
DENO="\$(command -v deno || echo "$here/.tools/bin/deno")"
MDTS_ARGV0="\$(basename "\$0")" DENO_NO_UPDATE_CHECK=1 exec "\$DENO" run --quiet --no-prompt ${PERMS[*]} "$here/mod.ts" "\$@"
LAUNCH
  chmod +x dist/mdts
  kind="launcher"
fi
rm -f "$log" dist/mdts.tmp-*
ln -sf mdts dist/mdadm
ln -sf mdts dist/mdmon
echo "compile: dist/mdts ($kind), dist/mdadm and dist/mdmon link to it"
