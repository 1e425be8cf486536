#!/usr/bin/env bash
# Tests the web app: npm ci, the API types against the OpenAPI document,
# typecheck, lint, unit tests (vitest), build, then the browser test: the real
# all-in-one (go run ./cmd/accord) on free ports with its data in a temporary
# folder, driven by @playwright/test in Debian's chromium (installed when
# missing) at 1280x800 and 390x844. Screenshots of every step go to
# web/test-results/.
#
# Prints "web: N passed, M failed" at the end and exits non-zero on failure.
# WEB_E2E=0 skips the browser test (unit checks only).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

passed=0
failed=0
failures=()
step() { printf '\n== web: %s (at %ds)\n' "$*" "$SECONDS"; }
ok() { passed=$((passed + $1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); }
finish() {
  echo
  if [ "${#failures[@]}" -gt 0 ]; then printf 'web: failed: %s\n' "${failures[*]}"; fi
  echo "web: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

step "npm ci"
(cd web && npm ci --no-audit --no-fund --loglevel=error) || { fail "npm ci"; finish; exit 1; }

step "api types"
# src/api/schema.d.ts must be what gen/openapi/accord.swagger.json generates.
if (cd web && npm run --silent check:api); then ok 1; else fail "api types stale (cd web && npm run gen:api)"; fi

step "typecheck"
if (cd web && npm run --silent typecheck); then ok 1; else fail typecheck; fi

step "lint"
if (cd web && npm run --silent lint); then ok 1; else fail lint; fi

step "unit tests"
log=$(mktemp)
if (cd web && NO_COLOR=1 npx vitest run 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}"); then
  n=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/^ *Tests *\([0-9]\+\) passed.*/\1/p' | tail -1)
  ok "${n:-1}"
else
  fail vitest
fi
rm -f "$log"

step "build"
if (cd web && npm run --silent build >/dev/null); then ok 1; else fail build; finish; exit 1; fi

if [ "${WEB_E2E:-1}" = 0 ]; then
  finish
  exit $?
fi

step "browser test"
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
scripts/redis.sh >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
tmp=$(mktemp -d)
port=$(free_port)
export ACCORD_DATA_DIR="$tmp/data"
export ACCORD_HTTP_ADDR="127.0.0.1:$port"
export ACCORD_USER_ADDR="127.0.0.1:$(free_port)"
export ACCORD_SERVER_ADDR="127.0.0.1:$(free_port)"
export ACCORD_PRESENCE_ADDR="127.0.0.1:$(free_port)"
export ACCORD_STATS_ADDR="127.0.0.1:$(free_port)"
export ACCORD_SEARCH_ADDR="127.0.0.1:$(free_port)"
export ACCORD_METRICS_ADDR=off
export ACCORD_WEB_DIR="$root/web/dist"
export ACCORD_REDIS_PREFIX="webtest$$:"
export ACCORD_OPERATORS="${ACCORD_OPERATORS:-}"
# The browser test posts a long history quickly.
export ACCORD_MESSAGE_RATE_LIMIT=0
# Short-lived access tokens, so the run also covers token refresh (REST and the
# socket's token frame) while the app is in use.
export ACCORD_ACCESS_TOKEN_TTL=75s

(cd "$root" && go build -o "$tmp/accord" ./cmd/accord) || { fail "go build ./cmd/accord"; finish; exit 1; }
"$tmp/accord" >"$tmp/accord.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
  # Leave the shared Redis as it was: drop this run's keys.
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -u "${ACCORD_REDIS_URL:-redis://127.0.0.1:6379/0}" --scan --pattern "${ACCORD_REDIS_PREFIX}*" 2>/dev/null |
      xargs -r -n 500 redis-cli -u "${ACCORD_REDIS_URL:-redis://127.0.0.1:6379/0}" del >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

up=0
for _ in $(seq 300); do
  if curl -fsS "http://$ACCORD_HTTP_ADDR/healthz" >/dev/null 2>&1; then up=1; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ "$up" != 1 ]; then
  echo "the all-in-one did not become healthy; its log:" >&2
  tail -50 "$tmp/accord.log" >&2
  fail "all-in-one health"
  finish
  exit 1
fi

mkdir -p web/test-results
log=$(mktemp)
if (cd web && ACCORD_URL="http://$ACCORD_HTTP_ADDR" npx playwright test 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}"); then
  n=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/^ *\([0-9]\+\) passed.*/\1/p' | tail -1)
  ok "${n:-1}"
  rm -f "$log"
else
  rm -f "$log"
  fail "browser test"
  echo "last lines of the all-in-one's log:" >&2
  tail -40 "$tmp/accord.log" >&2
fi
finish
