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

/**
 * postgres.js 3.4.9 can throw from a timer when PostgreSQL goes away: a small write it deferred with
 * setImmediate runs after the connection closed, and `socket.write` on null escapes every try/catch as
 * an uncaught TypeError that would end the process (porsager/postgres#1154, #1208; unfixed upstream).
 * By then the connection has rejected its queries (CONNECTION_CLOSED) and the pool reconnects, so the
 * write is moot: this lets exactly that error pass with a warning, and leaves every other uncaught
 * error to end the process as before. Installed once per process by the engine (and the tests).
 */
export function surviveClosedConnectionWrites(warn: (message: string) => void): void {
  if (guarded) return;
  guarded = true;
  process.on('uncaughtException', (err) => {
    if (err instanceof TypeError && isClosedConnectionWrite(err)) {
      warn('PostgreSQL connection closed under a pending write (postgres.js): the pool reconnects');
      return;
    }
    // Node's own behaviour for any other uncaught error: print it and exit.
    console.error(err);
    process.exit(1);
  });
}
let guarded = false;

/** That postgres.js error: `socket.write` on null from its deferred `nextWrite`. */
export function isClosedConnectionWrite(err: { message?: string; stack?: string }): boolean {
  return /reading 'write'/.test(err.message ?? '') && /nextWrite[\s\S]*postgres[\\/]src[\\/]connection\.js/.test(err.stack ?? '');
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
