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
node_modules/.bin/tsc --noEmit   # strict types are part of the test
npm run --silent lint            # the boundaries, dead code, formatting (docs/architecture.md)
exec node_modules/.bin/vitest run "$@"
