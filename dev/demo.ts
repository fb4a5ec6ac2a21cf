// `npm run demo`: the whole engine on one machine with its embedded defaults. Ctrl-C stops all of it.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedDb } from '../db/embedded';
import { ensureKeyRingFile } from '../shared/codec';
import { loadConfig, type Config } from '../shared/config';
import { startEngine, stopOnSignals, type Engine } from '../app/engine';
import { connectDb } from '../db/index';
import { seedDemoHistory } from './history';
import { demoApiKeys, seedDemoExperiment, seedDemoPortfolio, seedDemoTreatments, seedFieldOfficers } from './portfolio';
import { startTemporalDevServer, type DevServer } from './temporal-dev-server';
import { PROJECT_ROOT, toolPaths } from './tools';

// The demo's processor signs webhooks with this secret unless you bring your own.
process.env.RECOUP_WEBHOOK_SECRET ||= 'whsec_demo_recoup_0123456789';
// Payloads are encrypted with a key ring the demo creates under its data directory on first start
// (unless you bring your own); the Temporal UI reads them through the API's codec endpoint, whose
// secret path is new each start, and which only the UI's origin may call from a browser.
const UI_PORT = 8233;
process.env.RECOUP_CODEC_UI_TOKEN ||= randomBytes(24).toString('base64url');
process.env.RECOUP_CODEC_CORS_ORIGINS ||= `http://localhost:${UI_PORT},http://127.0.0.1:${UI_PORT}`;
let config: Config;
try {
  config = loadConfig();
} catch (e) {
  console.error(`[demo] ${(e as Error).message}`);
  process.exit(2);
}
const dataDir = path.resolve(PROJECT_ROOT, config.dataDir);
if (config.codec.encryption && !config.codec.keysFile && !config.codec.keys) {
  config.codec.keysFile = path.join(dataDir, 'codec-keys.json');
  try {
    ensureKeyRingFile(config.codec.keysFile);
  } catch (e) {
    console.error(`[demo] ${(e as Error).message}`);
    process.exit(2);
  }
}
const TEMPORAL_PORT = 7233;
const NAMESPACE = 'default';

let temporal: DevServer | undefined;
let db: EmbeddedDb | undefined;
let engine: Engine | undefined;
let stopping: Promise<void> | undefined;
const stopAll = () =>
  (stopping ??= (async () => {
    await engine?.stop();
    await db?.stop();
    await temporal?.stop();
  })());
stopOnSignals(stopAll);

try {
  console.log('[demo] starting the Temporal dev server (SQLite under .data/, UI on :8233)…');
  temporal = await startTemporalDevServer({
    cli: toolPaths().temporalCli,
    dataDir,
    port: TEMPORAL_PORT,
    uiPort: UI_PORT,
    namespace: NAMESPACE,
    ...(config.codec.encryption ? { codecEndpoint: `http://localhost:${config.apiPort}/v1/codec/ui/${config.codec.uiToken}` } : {}),
    log: (l) => console.log(`[temporal] ${l}`),
  });
  // The engine connects by Temporal's own variables; point them at the server just started.
  process.env.TEMPORAL_ADDRESS = temporal.address;
  process.env.TEMPORAL_NAMESPACE = NAMESPACE;

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    console.log(
      `[demo] starting the embedded PostgreSQL on :${config.embeddedPgPort} (data under ` +
        path.join(path.relative(PROJECT_ROOT, dataDir).startsWith('..') ? dataDir : path.relative(PROJECT_ROOT, dataDir), 'pg') +
        ')…',
    );
    db = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'pg'),
      port: config.embeddedPgPort,
      notice: (l) => console.log(`[demo] ${l}`),
    });
    databaseUrl = db.url;
  }

  engine = await startEngine(config, { worker: true, api: true }, databaseUrl);
  const sql = connectDb(databaseUrl, { max: 1 });
  await seedFieldOfficers(sql);
  const keys = await demoApiKeys(sql);
  await sql.end();
  // The embedded server is a local demo's (127.0.0.1 only): its URL in full, password and all.
  // A DATABASE_URL of your own keeps its password masked.
  const seeded = await seedDemoPortfolio(engine.apiUrl!, keys.admin);
  const treated = await seedDemoTreatments(engine.apiUrl!, keys);
  // Before the history: 20 % of its micro-loan cases start with the challenger.
  const experiment = await seedDemoExperiment(engine.apiUrl!, keys.admin);
  // A few hundred back-dated cases and their repayments, the month's target and the first weekly report (dev/history.ts).
  const history = await seedDemoHistory(engine.apiUrl!, keys, config.webhookSecret!, (l) => console.log(`[demo] ${l}`));
  const payloads = config.codec.encryption
    ? `encrypted (key ring ${config.codec.keysFile ?? 'RECOUP_CODEC_KEYS'}); the Temporal UI decodes them through the API`
    : 'in clear (RECOUP_PAYLOAD_ENCRYPTION=false)';
  console.log(`
Recoup is running.
  API:         ${engine.apiUrl}
  Temporal UI: ${temporal.uiUrl}/namespaces/${NAMESPACE}/workflows
  PostgreSQL:  ${db ? databaseUrl : databaseUrl.replace(/:[^:@/]+@/, ':***@')}
  API docs:    ${engine.apiUrl}/v1/docs
  Demo portfolio: ${seeded.length} overdue accounts (${seeded.join(', ')})
  Treatments:  ${treated.join('; ')}
  History:     ${history.cases} accounts that fell overdue over the last 5 months (ML-2026-1001 … ML-2026-${1000 + history.cases}), ${
    history.seededNow ? `seeded in ${history.seconds} s with ${history.payments} back-dated repayments` : 'seeded at an earlier start'
  }
               the portfolio now: ${history.openCases} open cases by days overdue (${history.aging}), ${history.closed} paid
               ${history.recovery}; ${history.report ?? 'no weekly report yet'}
  Experiment:  ${experiment}: 20 % of the micro-loan segment's cases call before the first visit (docs/experiments.md)
               ${engine.apiUrl}/v1/experiments/${experiment}/results (manager key); Experiment = "${experiment}:challenger" in the UI
  Reports:     ${engine.apiUrl}/v1/reports/portfolio.html and ${engine.apiUrl}/v1/reports/weekly (manager key as the Basic password)
  API keys (new each start): ${Object.entries(keys)
    .map(([role, key]) => `\n    ${role.padEnd(13)} ${key}`)
    .join('')}
  Webhook secret: ${config.webhookSecret}
  Payloads:    ${payloads}
Try: curl -H "Authorization: Bearer ${keys.supervisor}" ${engine.apiUrl}/v1/cases/${seeded[0]}
Press Ctrl-C to stop everything.`);
} catch (e) {
  // Ctrl-C while starting: what failed was cut short by the stop, not broken.
  if (stopping) {
    await stopping;
    process.exit(0);
  }
  // The embedded server's failures are one line that says what to do; anything else, in full.
  if (e instanceof EmbeddedPostgresError) console.error(`[demo] ${e.message}`);
  else console.error('[demo] failed to start:', e);
  await stopAll();
  process.exit(1);
}
