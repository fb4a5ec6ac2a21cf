// The raw Temporal floor for `npm run bench`: a workflow with nothing of Recoup's in it, opened and
// paid the way a case is (update-with-start, then an update), on the same server in the same run.
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

export const rawOpen = defineUpdate<boolean, [number]>('rawOpen');
export const rawPay = defineUpdate<boolean, [number]>('rawPay');

export async function rawCase(): Promise<void> {
  let owed = 0;
  let opened = false;
  setHandler(rawOpen, (amount) => {
    opened = true;
    owed += amount;
    return true;
  });
  setHandler(rawPay, (amount) => {
    owed -= amount;
    return true;
  });
  await condition(() => opened && owed <= 0);
}
