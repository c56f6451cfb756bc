#!/usr/bin/env bash
# Black-box tests: the web page in headless Debian chromium, and the guide's own client (npm
# `request` 2.88). Starts `imgtag serve` (twice: at the root and under a base
# path) on 127.0.0.1 with throw-away data dirs, runs the node tests against them with headless
# Debian chromium, and stops the servers whatever happens.
#
# Needs: /usr/bin/chromium (apt-get install chromium), node 18+, and the imgtag binary built
# (`cargo build -p imgtag`; IMGTAG_BIN overrides where it is looked for).
set -euo pipefail
cd "$(dirname "$0")"

target="${CARGO_TARGET_DIR:-../target}"
bin="${IMGTAG_BIN:-$target/debug/imgtag}"
[ -x "$bin" ] || { echo "imgtag binary not found at $bin (cargo build -p imgtag)" >&2; exit 1; }
[ -d node_modules/playwright-core ] && [ -d node_modules/request ] || npm ci --no-audit --no-fund

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start NAME BASE_PATH: serves in the background and sets $url once it is healthy. Not run in
# a subshell (no `$(start ...)`), so the pid reaches `pids` and the trap can stop it.
start() {
  local name="$1" base="$2" port
  port="$(free_port)"
  "$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/$name" --base-path "$base" \
    >"$work/$name.log" 2>&1 &
  pids+=("$!")
  url="http://127.0.0.1:$port$base"
  for _ in $(seq 1 100); do
    if curl -fsS "$url/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "server $name did not start; log:" >&2
  cat "$work/$name.log" >&2
  return 1
}

start root ""
IMGTAG_URL="$url"
start staged "/Prod"
IMGTAG_BASE_URL="$url"
export IMGTAG_URL IMGTAG_BASE_URL
export E2E_ARTIFACTS="${E2E_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$E2E_ARTIFACTS"

status=0
node --test --test-reporter=spec web.test.js seed-client.test.js || status=$?
if [ "$status" -ne 0 ]; then
  for log in "$work"/*.log; do echo "--- $log"; tail -n 40 "$log"; done
fi
exit "$status"
