// `npm run api`: the API alone.
import { runEngine } from '../worker/engine';

await runEngine({ worker: false, api: true });
