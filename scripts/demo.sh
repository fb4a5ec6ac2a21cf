#!/usr/bin/env bash
# npm run demo: install what is missing (npm packages, Temporal servers), then run dev/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@temporalio/worker ] || npm ci --no-audit --no-fund
bash scripts/setup-tools.sh
exec node_modules/.bin/tsx dev/demo.ts
