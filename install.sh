#!/usr/bin/env bash
# mdts installer: gets Deno if it is missing, then builds dist/mdts.
# Idempotent, no prompts. Honours DENORT_BIN for `deno compile` (its runtime cannot be downloaded here).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
DENO_VERSION="2.9.6"

find_deno() {
  if command -v deno >/dev/null 2>&1; then command -v deno; return 0; fi
  if [ -x "$here/.tools/bin/deno" ]; then echo "$here/.tools/bin/deno"; return 0; fi
  return 1
}

if ! DENO="$(find_deno)"; then
  echo "install.sh: deno not found; installing deno@$DENO_VERSION from the npm registry into .tools/"
  command -v npm >/dev/null 2>&1 || { echo "install.sh: npm is needed to fetch deno; install Node.js/npm first" >&2; exit 1; }
  mkdir -p .tools/deno-npm .tools/bin
  npm install --silent --no-audit --no-fund --prefix .tools/deno-npm "deno@$DENO_VERSION" >/dev/null
  real="$(ls .tools/deno-npm/node_modules/@deno/*/deno 2>/dev/null | head -n1 || true)"
  [ -n "$real" ] || real=".tools/deno-npm/node_modules/.bin/deno"
  ln -sf "$here/$real" .tools/bin/deno
  DENO="$here/.tools/bin/deno"
fi
echo "install.sh: using $("$DENO" --version | head -n1) at $DENO"

export PATH="$(dirname "$DENO"):$PATH"
bash scripts/compile.sh
