// `npm start`: worker and API against the configured Temporal and PostgreSQL (production).
import { loadConfig } from '../shared/config';
import { startEngine, stopOnSignals } from './engine';

const engine = await startEngine(loadConfig(), { worker: true, api: true });
stopOnSignals(engine.stop);
