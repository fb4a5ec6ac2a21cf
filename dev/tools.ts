import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Paths of the Temporal CLI and the time-skipping test server, as scripts/setup-tools.sh settled them. */
export function toolPaths(): { temporalCli: string; testServer: string } {
  const file = path.join(PROJECT_ROOT, '.tools', 'paths.env');
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run setup" (scripts/setup-tools.sh) first`);
  const vars = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const temporalCli = process.env.TEMPORAL_CLI || vars.TEMPORAL_CLI_PATH;
  const testServer = process.env.TEMPORAL_TEST_SERVER || vars.TEMPORAL_TEST_SERVER_PATH;
  if (!temporalCli || !testServer) throw new Error(`${file} does not name both servers: run "npm run setup" again`);
  return { temporalCli, testServer };
}
