#!/usr/bin/env bash
# npm run demo: install what is missing (npm packages, Temporal servers), then run dev/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# (again when the lockfile is newer than what node_modules was installed from)
if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/setup-tools.sh
exec node_modules/.bin/tsx dev/demo.ts
