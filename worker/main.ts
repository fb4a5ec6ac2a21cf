// `npm run worker`: the worker alone.
import { runEngine } from '../app/engine';

await runEngine({ worker: true, api: false });
