// `npm run build:workflows`: the workflow bundle that production workers load, in
// .build/workflow-bundle-<sha256 of workflows/, shared/ and package-lock.json>.js (see worker/bundle.ts).
// The Dockerfile runs it; a worker started with NODE_ENV=production loads the bundle for its sources.
import path from 'node:path';
import { buildWorkflowBundle } from '../worker/bundle';

const t0 = process.hrtime.bigint();
const force = process.argv.includes('--force');
const r = await buildWorkflowBundle({ force });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const where = path.relative(process.cwd(), r.path) || r.path;
console.log(
  r.built
    ? `[build:workflows] wrote ${where} in ${(ms / 1000).toFixed(1)} s`
    : `[build:workflows] ${where} is up to date (sources unchanged)`,
);
if (r.removed.length) console.log(`[build:workflows] removed bundles of other sources: ${r.removed.join(', ')}`);
