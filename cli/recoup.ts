// The operator's command line: `npm run recoup -- <command>` (or `npx tsx cli/recoup.ts <command>`).
//   recoup import <file>                 a portfolio, with progress, and its rejected rows as CSV
//   recoup api-key create|revoke         API keys (straight to the ledger: DATABASE_URL)
//   recoup sign-webhook <url> <secret> <body>   a signed payment webhook, as a processor sends it
//   recoup playbook validate|diff|publish|list   playbooks as files (docs/playbooks.md)
//   recoup simulate …                    a what-if run of playbooks over a portfolio (docs/simulation.md)
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApiKey, revokeApiKey, ROLES, type Role } from '../api/auth';
import { connectDb } from '../db/index';
import { migrate } from '../db/migrate';
import { loadConfig } from '../shared/config';
import { signBody } from '../shared/signature';
import { importFile } from './import';
import { registerPlaybookCommands } from './playbook';
import { registerSimulateCommand } from './simulate';

const program = new Command('recoup')
  .description('Recoup, the debt-collection case engine: operator commands')
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

const apiOptions = (c: Command) =>
  c
    .addOption(
      new Option('--url <url>', "the API's base URL")
        .env('RECOUP_API_URL')
        .default(`http://localhost:${process.env.RECOUP_API_PORT ?? 3000}`),
    )
    .addOption(new Option('--key <key>', 'an API key (supervisor or admin)').env('RECOUP_API_KEY'));

apiOptions(
  program
    .command('import')
    .description('Import a portfolio of missed payments (CSV as docs/imports.md, or JSON lines): cases opened, rows rejected with why')
    .argument('<file>', 'portfolio.csv, or .jsonl / .ndjson')
    .option('--name <name>', "the import's name (default: the file's name)")
    .option('--rejects <path>', 'where the rejected rows go as CSV (default: <file>.rejects.csv)')
    .option('--no-wait', 'return once the file is taken, without following the import'),
).action(async (file: string, o: { url: string; key?: string; name?: string; rejects?: string; wait: boolean }) => {
  if (!o.key) throw new InvalidArgumentError('an API key is needed: --key or RECOUP_API_KEY');
  process.exitCode = await importFile({
    file,
    url: o.url,
    key: o.key,
    wait: o.wait,
    ...(o.name ? { name: o.name } : {}),
    ...(o.rejects ? { rejects: o.rejects } : {}),
  });
});

const apiKey = program.command('api-key').description('API keys, stored hashed in the ledger (DATABASE_URL)');
apiKey
  .command('create')
  .description('A new key, printed once')
  .argument('<subject>', 'who holds it: a person id or a system name')
  .argument('<role>', ROLES.join(' | '))
  .action(async (subject: string, role: string) => {
    if (!ROLES.includes(role as Role)) throw new InvalidArgumentError(`role is one of ${ROLES.join(', ')}`);
    await withLedger(async (sql) => console.log(await createApiKey(sql, subject, role as Role)));
  });
apiKey
  .command('revoke')
  .description('Revoke keys by their first characters')
  .argument('<prefix>', 'the first 12 characters of the key')
  .action(async (prefix: string) => {
    await withLedger(async (sql) => console.log(`revoked ${await revokeApiKey(sql, prefix)} key(s)`));
  });

program
  .command('sign-webhook')
  .description(
    'Sign a payment webhook body the way Recoup checks it and send it ' +
      '(Recoup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">)',
  )
  .usage("<url> <secret> '<json body>'  |  --print <secret> '<json body>'")
  .argument('<args...>', 'url, secret and body (with --print: secret and body)')
  .option('--print', 'only print the header (for curl -H)')
  .action(async (args: string[], o: { print?: boolean }) => {
    const [url, secret, body] = o.print ? [undefined, ...args] : args;
    if (args.length !== (o.print ? 2 : 3) || !secret || body === undefined) {
      throw new InvalidArgumentError(o.print ? 'give the secret and the body' : 'give the URL, the secret and the body');
    }
    const header = signBody(secret, Math.floor(Date.now() / 1000), body);
    if (o.print) return console.log(header);
    const res = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json', 'recoup-signature': header }, body });
    console.log(res.status, await res.text());
    // A refused webhook fails the command, so a script can tell.
    if (res.status >= 400) process.exitCode = 1;
  });

async function withLedger(fn: (sql: ReturnType<typeof connectDb>) => Promise<void>): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    console.error('DATABASE_URL is not set (the demo prints its URL)');
    process.exitCode = 2;
    return;
  }
  const sql = connectDb(config.databaseUrl, { max: 1 });
  try {
    await migrate(sql);
    await fn(sql);
  } finally {
    await sql.end();
  }
}

registerPlaybookCommands(program);
registerSimulateCommand(program);

// `recoup … | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`recoup: ${(e as Error).message}`);
  process.exitCode = 2;
}
