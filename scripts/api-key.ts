// npm run api-key -- create <subject> <role>   |   npm run api-key -- revoke <key prefix>
// Keys are stored hashed: the plain key is printed once, here.
import { createApiKey, revokeApiKey, ROLES, type Role } from '../api/auth';
import { connectDb } from '../db/index';
import { migrate } from '../db/migrate';
import { loadConfig } from '../shared/config';

const [command, a, b] = process.argv.slice(2);
const config = loadConfig();
if (!config.databaseUrl) {
  console.error('DATABASE_URL is not set (the demo prints its URL)');
  process.exit(2);
}
const sql = connectDb(config.databaseUrl, { max: 1 });
try {
  await migrate(sql);
  if (command === 'create' && a && ROLES.includes(b as Role)) {
    console.log(await createApiKey(sql, a, b as Role));
  } else if (command === 'revoke' && a) {
    console.log(`revoked ${await revokeApiKey(sql, a)} key(s)`);
  } else {
    console.error(`usage: npm run api-key -- create <subject> <${ROLES.join('|')}>\n       npm run api-key -- revoke <key prefix>`);
    process.exitCode = 2;
  }
} finally {
  await sql.end();
}
