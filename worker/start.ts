// `npm start`: worker and API against the configured Temporal and PostgreSQL (production).
import { runEngine } from '../app/engine';

await runEngine({ worker: true, api: true });
