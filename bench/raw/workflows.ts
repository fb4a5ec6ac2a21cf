// The raw Temporal floor for `npm run bench`: workflows with nothing of Recoup's in it, on the same
// server in the same run. `rawEmpty` is started and returns at once; `rawCase` is opened the way a case
// is (update-with-start), then paid by an update (`rawPay`), by an update that also publishes the amount
// owed as a search attribute (`rawPayIndexed`, what a case's payment changes in visibility), or by a
// signal read back by a query, or by an update that first writes the payment to PostgreSQL in a local
// activity (`rawPayLedgered`: one row, one statement; the least a payment that reaches the ledger before
// the case can cost).
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { OutstandingMinor } from '../../shared/search-attributes';
import type { RawActivities } from './activities';

const { rawLedgerRow } = proxyLocalActivities<RawActivities>({ startToCloseTimeout: '10s' });

export const rawOpen = defineUpdate<boolean, [number]>('rawOpen');
export const rawPay = defineUpdate<boolean, [number]>('rawPay');
export const rawPayIndexed = defineUpdate<boolean, [number]>('rawPayIndexed');
export const rawPayLedgered = defineUpdate<boolean, [string, number]>('rawPayLedgered');
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
  setHandler(rawPayIndexed, (amount) => {
    pay(amount);
    upsertSearchAttributes([{ key: OutstandingMinor, value: owed }]);
    return true;
  });
  setHandler(rawPayLedgered, async (paymentId, amount) => {
    await rawLedgerRow(paymentId, amount);
    pay(amount);
    return true;
  });
  setHandler(rawPaySignal, pay);
  setHandler(rawPaidQuery, () => paid);
  await condition(() => opened && owed <= 0);
}
