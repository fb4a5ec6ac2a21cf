// `npm run api`: the API alone.
import { loadConfig } from '../shared/config';
import { startEngine, stopOnSignals } from '../worker/engine';

const engine = await startEngine(loadConfig(), { worker: false, api: true });
stopOnSignals(engine.stop);
