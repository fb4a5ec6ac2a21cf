#!/usr/bin/env bash
# npm run demo: install what is missing (npm packages, Temporal servers), then run dev/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# (again when the lockfile is newer than what node_modules was installed from)
if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/setup-tools.sh
# node --import tsx, not the tsx CLI: the CLI relays Ctrl-C to the demo and SIGKILLs it when the demo
# does not acknowledge within 60 ms (a busy start-up on 2 cores), skipping its clean stop.
exec node --import tsx dev/demo.ts
