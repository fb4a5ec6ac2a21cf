// `npm run api`: the API alone.
import { runEngine } from '../app/engine';

await runEngine({ worker: false, api: true });
