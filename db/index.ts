import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: number }>;

/**
 * bigint columns hold money in minor units; they come back as JS numbers, and a value beyond
 * Number.MAX_SAFE_INTEGER (which the API never accepts) fails loudly instead of losing precision.
 */
const bigintAsNumber = {
  to: 20,
  from: [20],
  serialize: (n: number) => String(n),
  parse: (s: string) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${s} does not fit a safe integer`);
    return n;
  },
};

export function connectDb(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    types: { bigint: bigintAsNumber },
    onnotice: () => undefined,
    connection: { application_name: 'recoup' },
  });
}

/** A connection pool or a transaction: what a query helper accepts. */
export type Db = Sql | postgres.TransactionSql<{ bigint: number }>;

/**
 * Runs `work` atomically: in a transaction of its own, or as part of the transaction `db` already is
 * (the case's ledger batch writes several activities' rows in one transaction). No savepoint there:
 * a write that fails fails the whole batch (nothing catches it inside), so the batch's own
 * all-or-nothing is what each write gets, without two more round trips per write.
 */
export function atomically<T>(db: Db, work: (tx: postgres.TransactionSql<{ bigint: number }>) => Promise<T>): Promise<T> {
  const run = 'savepoint' in db ? work(db) : db.begin(work);
  return run as Promise<T>;
}
