// The raw Temporal floor for `npm run bench`: workflows with nothing of Recoup's in it, on the same
// server in the same run. `rawEmpty` is started and returns at once; `rawCase` is opened the way a case
// is (update-with-start), then paid by an update (`rawPay`) or by a signal read back by a query.
import { condition, defineQuery, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

export const rawOpen = defineUpdate<boolean, [number]>('rawOpen');
export const rawPay = defineUpdate<boolean, [number]>('rawPay');
export const rawPaySignal = defineSignal<[number]>('rawPaySignal');
export const rawPaidQuery = defineQuery<number>('rawPaid');

export async function rawEmpty(): Promise<void> {}

export async function rawCase(): Promise<void> {
  let owed = 0;
  let paid = 0;
  let opened = false;
  const pay = (amount: number) => {
    owed -= amount;
    paid += amount;
  };
  setHandler(rawOpen, (amount) => {
    opened = true;
    owed += amount;
    return true;
  });
  setHandler(rawPay, (amount) => {
    pay(amount);
    return true;
  });
  setHandler(rawPaySignal, pay);
  setHandler(rawPaidQuery, () => paid);
  await condition(() => opened && owed <= 0);
}
