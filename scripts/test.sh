#!/usr/bin/env bash
# npm test: install what is missing (npm packages, Temporal servers), then run vitest.
# vitest's global setup starts the Temporal dev server and PostgreSQL (embedded unless DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@temporalio/worker ] || npm ci --no-audit --no-fund
bash scripts/setup-tools.sh
node_modules/.bin/tsc --noEmit   # strict types are part of the test
exec node_modules/.bin/vitest run "$@"
