// `npm run worker`: the worker alone.
import { loadConfig } from '../shared/config';
import { startEngine, stopOnSignals } from './engine';

const engine = await startEngine(loadConfig(), { worker: true, api: false });
stopOnSignals(engine.stop);
