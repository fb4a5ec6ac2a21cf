#!/usr/bin/env bash
# npm test: install what is missing (npm packages, Temporal servers), type-check, lint, then run vitest's two
# projects (vitest.config.ts): `unit` (pure code, first) and `integration`, whose global setup starts
# the Temporal dev server and PostgreSQL (embedded unless DATABASE_URL).
# Arguments go to vitest: `npm run test:integration` is this with `--project integration`.
set -euo pipefail
cd "$(dirname "$0")/.."
# (again when the lockfile is newer than what node_modules was installed from)
if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/setup-tools.sh
# The Temporal UI test drives a real headless Chromium (Debian's package) and shows CJK names: install
# both from Debian's registry when missing (as root); otherwise that test fails and says what to install.
if [ -z "${CHROMIUM_PATH:-}" ] && { ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk'; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[test] installing chromium and a CJK font (apt-get)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >&2
  else
    echo "[test] chromium or a CJK font is missing: apt-get install chromium fonts-wqy-microhei (test/temporal-ui.test.ts needs them)" >&2
  fi
fi
node_modules/.bin/tsc --noEmit   # strict types are part of the test
npm run --silent lint            # the boundaries, dead code, formatting (docs/architecture.md)
exec node_modules/.bin/vitest run "$@"
