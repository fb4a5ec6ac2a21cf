import { z } from 'zod';
import { isValidTimeZone } from './calendar';
import { CreditGrade, Debtor, Guarantor, IsoDate, Segment } from './case';
import { Money } from './money-schema';

/**
 * The contract of intake: a missed instalment as the API (POST /v1/missed-payments) and the portfolio
 * import (POST /v1/imports, `recoup import`) take it. One schema for both, so a row of a file is
 * validated exactly as the same instalment sent alone would be.
 */
export const AccountId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, dot, dash, underscore; at most 100');

export const MissedPaymentBody = z
  .object({
    accountId: AccountId,
    // Unknown keys are refused at every level, not dropped: a misspelt `phone` must not open a case without one.
    debtor: Debtor.strict().refine((d) => isValidTimeZone(d.timeZone), {
      message: 'an IANA time zone such as Asia/Shanghai',
      path: ['timeZone'],
    }),
    // Each guarantor once: a case answers for a guarantor by id (their response, the demand to them).
    guarantors: z
      .array(Guarantor.strict())
      .max(10)
      .default([])
      .superRefine((gs, ctx) => {
        gs.forEach((g, i) => {
          if (gs.findIndex((h) => h.id === g.id) < i)
            ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `guarantor id ${g.id} is given twice` });
        });
      }),
    dueDate: IsoDate,
    amountDue: Money.strict(),
    /**
     * The playbook the case starts with (its latest version, built in or published). Left out: the
     * playbook rules and a running experiment choose (docs/experiments.md). An unknown id is refused (422).
     */
    playbookId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'a playbook id: lower-case letters, digits and dashes')
      .optional(),
    collectorId: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
    /** Credit grade (A best … E worst) and portfolio segment, as the lender's system knows them. */
    creditGrade: CreditGrade.optional(),
    segment: Segment.optional(),
    /** The lender's product (e.g. micro-loan, sme-term), for the playbook rules. */
    product: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
  })
  .strict();
export type MissedPaymentBody = z.infer<typeof MissedPaymentBody>;

// ---- the portfolio file (docs/imports.md) ----

/**
 * The columns of a portfolio CSV, in the order the example file has them, and where each goes in a
 * missed payment. `phones` and `guarantorPhones` hold several numbers separated by `;`. A file has the
 * required columns and any of the others, in any order; an unknown column refuses the whole file.
 */
export const IMPORT_COLUMNS = [
  'accountId',
  'dueDate',
  'amountMinor',
  'currency',
  'debtorName',
  'timeZone',
  'idNumber',
  'phones',
  'email',
  'address',
  'region',
  'jurisdiction',
  'playbookId',
  'collectorId',
  'creditGrade',
  'segment',
  'product',
  'guarantorId',
  'guarantorName',
  'guarantorPhones',
  'guarantorAddress',
] as const;
export const REQUIRED_IMPORT_COLUMNS = ['accountId', 'dueDate', 'amountMinor', 'currency', 'debtorName'] as const;
type Column = (typeof IMPORT_COLUMNS)[number];

/** The field of a missed payment a column fills: what a rejected row's `field` names. */
const FIELD_OF_PATH: Record<string, Column> = {
  'amountDue.amountMinor': 'amountMinor',
  'amountDue.currency': 'currency',
  'debtor.name': 'debtorName',
  'debtor.timeZone': 'timeZone',
  'debtor.idNumber': 'idNumber',
  'debtor.phones': 'phones',
  'debtor.email': 'email',
  'debtor.address': 'address',
  'debtor.region': 'region',
  'debtor.jurisdiction': 'jurisdiction',
  'guarantors.0.id': 'guarantorId',
  'guarantors.0.name': 'guarantorName',
  'guarantors.0.phones': 'guarantorPhones',
  'guarantors.0.address': 'guarantorAddress',
};

/** The CSV column (or, for a JSON line, the dotted path) a zod issue's path points at. */
export function fieldOf(path: ReadonlyArray<PropertyKey>, csv: boolean): string {
  const dotted = path.map(String).join('.');
  if (!csv) return dotted || '(row)';
  // phones.1 → phones: the column holds the list.
  const exact = FIELD_OF_PATH[dotted] ?? FIELD_OF_PATH[path.slice(0, -1).map(String).join('.')];
  return exact ?? (dotted || '(row)');
}

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(';')
        .map((p) => p.trim())
        .filter((p) => p !== '');

/**
 * A CSV record (column → cell, empty cells left out) as the missed payment it describes, unvalidated:
 * the schema then names what is wrong. An amount that is not all digits stays a string, so the schema
 * says "expected number" rather than reading "12.50" as 12.
 */
export function missedPaymentOfCsv(r: Partial<Record<Column, string>>): unknown {
  const amount = r.amountMinor === undefined ? undefined : /^\d{1,16}$/.test(r.amountMinor) ? Number(r.amountMinor) : r.amountMinor;
  const guarantor =
    r.guarantorId !== undefined || r.guarantorName !== undefined
      ? [
          {
            id: r.guarantorId,
            name: r.guarantorName,
            ...(r.guarantorPhones !== undefined ? { phones: list(r.guarantorPhones) } : {}),
            ...(r.guarantorAddress !== undefined ? { address: r.guarantorAddress } : {}),
          },
        ]
      : [];
  const pick = <K extends Column>(k: K, as: string = k) => (r[k] !== undefined ? { [as]: r[k] } : {});
  return {
    accountId: r.accountId,
    dueDate: r.dueDate,
    amountDue: { amountMinor: amount, currency: r.currency },
    debtor: {
      name: r.debtorName,
      ...pick('timeZone'),
      ...pick('idNumber'),
      ...(r.phones !== undefined ? { phones: list(r.phones) } : {}),
      ...pick('email'),
      ...pick('address'),
      ...pick('region'),
      ...pick('jurisdiction'),
    },
    guarantors: guarantor,
    ...pick('playbookId'),
    ...pick('collectorId'),
    ...pick('creditGrade'),
    ...pick('segment'),
    ...pick('product'),
  };
}

export const isImportColumn = (c: string): c is Column => (IMPORT_COLUMNS as readonly string[]).includes(c);

// ---- the import's workflow and activities ----

/** What became of a row: a case opened, an instalment joined to an open case, nothing new, or why not. */
export type ImportRowStatus = 'pending' | 'opened' | 'joined' | 'unchanged' | 'rejected' | 'refused';

export interface ImportActivities {
  /** Takes up to `limit` pending rows of the import, opening or joining their cases; what is left after. */
  importRows(req: { importId: string; limit: number }): Promise<{ taken: number; remaining: number }>;
  /** Marks the import done (idempotent). */
  finishImport(req: { importId: string }): Promise<void>;
}

export const importWorkflowId = (importId: string) => `import-${importId}`;
