// The raw floor's one activity (bench/raw/worker.ts): a payment row written to PostgreSQL, one statement,
// idempotent on its id. No Recoup code: the postgres package and a table of its own.
import postgres from 'postgres';

export interface RawActivities {
  rawLedgerRow(paymentId: string, amountMinor: number): Promise<void>;
}

export async function createRawActivities(url: string): Promise<{ activities: RawActivities; close: () => Promise<void> }> {
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  await sql`
    create table if not exists bench_raw_ledger (
      payment_id text primary key, amount_minor bigint not null, at timestamptz not null default now()
    )`;
  return {
    activities: {
      async rawLedgerRow(paymentId, amountMinor) {
        await sql`insert into bench_raw_ledger (payment_id, amount_minor) values (${paymentId}, ${amountMinor}) on conflict do nothing`;
      },
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
