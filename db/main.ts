// npm run migrate: apply pending migrations to DATABASE_URL (the worker also does this at start-up).
import { loadConfig } from '../shared/config';
import { connectDb } from './index';
import { migrate } from './migrate';

const { databaseUrl } = loadConfig();
if (!databaseUrl) {
  console.error('DATABASE_URL is not set');
  process.exit(2);
}
const sql = connectDb(databaseUrl, { max: 1 });
try {
  const applied = await migrate(sql);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply');
} finally {
  await sql.end();
}
