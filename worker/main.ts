// `npm run worker`: the worker alone.
import { runEngine } from './engine';

await runEngine({ worker: true, api: false });
