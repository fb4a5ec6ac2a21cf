import { ApplicationFailure } from '@temporalio/common';
import { atomically, type Db } from '../db/index';
import type { CaseRef } from '../shared/activities';
import { ErrorTypes } from '../shared/errors';

type Tx = Db;

/** One audit row: who did what to which case, when (the case's clock). */
export async function audit(sql: Tx, actor: string, action: string, ref: CaseRef, detail: object = {}): Promise<void> {
  await sql`insert into audit_log ${auditRow(sql, actor, action, ref, detail)}`;
}

/**
 * The columns and select of one audit row, for `insert into audit_log ${…}`: a statement that writes
 * other rows too may add `where …` (the ledger's one-statement opening).
 */
export function auditRow(sql: Tx, actor: string, action: string, ref: CaseRef, detail: object) {
  return sql`(at, actor, action, case_key, account_id, detail)
             select ${ref.at}::timestamptz, ${actor}::text, ${action}::text, ${ref.caseKey}::text, ${ref.accountId}::text,
                    ${sql.json(detail as never)}::jsonb`;
}

/** An audit row about no case (an admin's change to subscriptions, playbooks, rules, experiments), at `at` (default now). */
export async function auditAdmin(
  sql: Tx,
  actor: string,
  action: string,
  detail: object,
  at: string = new Date().toISOString(),
): Promise<void> {
  await sql`insert into audit_log (at, actor, action, case_key, account_id, detail)
            values (${at}, ${actor}, ${action}, null, null, ${sql.json(detail as never)})`;
}

/**
 * An audit row for an activity with no row of its own to key on: written once per idempotency key. In
 * its own transaction, or in the ledger batch's (a transaction has no `begin`: db/index.ts atomically).
 */
export async function auditOnce(sql: Db, actor: string, action: string, ref: CaseRef, detail: object = {}): Promise<void> {
  await atomically(sql, async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${ref.idempotencyKey}))`;
    const [known] = await tx`select 1 from audit_log where case_key = ${ref.caseKey} and detail->>'key' = ${ref.idempotencyKey}`;
    if (!known) await audit(tx, actor, action, ref, { key: ref.idempotencyKey, ...detail });
  });
}

export interface CaseRow {
  case_key: string;
  account_id: string;
  currency: string;
  collector_id: string | null;
  first_due_date: Date;
  debtor_name: string;
  principal_minor: number;
  penalty_minor: number;
  fees_minor: number;
  paid_minor: number;
  stage: string;
}

export async function loadCase(sql: Tx, caseKey: string): Promise<CaseRow> {
  const [row] = await sql<CaseRow[]>`
    select case_key, account_id, currency, collector_id, first_due_date, debtor_name, principal_minor, penalty_minor,
           fees_minor, paid_minor, stage
    from cases where case_key = ${caseKey}`;
  if (!row) throw ApplicationFailure.nonRetryable(`no case ${caseKey} in the ledger`, ErrorTypes.CaseNotFound);
  return row;
}

/** How a person would rather be contacted (the API's words; 'call' is the contact log's 'phone'). */
export type PreferredChannel = 'call' | 'sms' | 'email' | 'letter' | 'visit';

export interface DebtorRow {
  id: number;
  name: string;
  id_number: string | null;
  phones: string[];
  email: string | null;
  address: string | null;
  region: string | null;
  time_zone: string;
  jurisdiction: 'CN' | 'US';
  do_not_contact: boolean;
  cease_communication: boolean;
  /** Contact preferences (migration 015): informational channel, letters' language, consent to contact third parties. */
  preferred_channel: PreferredChannel | null;
  preferred_language: string | null;
  third_party_consent: boolean;
}

export async function loadDebtor(sql: Tx, accountId: string): Promise<DebtorRow> {
  const [row] = await sql<DebtorRow[]>`
    select id, name, id_number, phones, email, address, region, time_zone, jurisdiction, do_not_contact, cease_communication,
           preferred_channel, preferred_language, third_party_consent
    from debtors where account_id = ${accountId}`;
  if (!row) throw ApplicationFailure.nonRetryable(`no debtor for account ${accountId}`, ErrorTypes.CaseNotFound);
  return row;
}

/** A guarantor of the account, with their own contact preferences (migration 015). */
export interface GuarantorRow {
  guarantor_ref: string;
  name: string;
  phones: string[];
  address: string | null;
  do_not_contact: boolean;
  cease_communication: boolean;
  preferred_channel: PreferredChannel | null;
  preferred_language: string | null;
}

/** The account's guarantors in the order they were given, or only those named in `refs`. */
export async function loadGuarantors(sql: Tx, accountId: string, refs?: readonly string[]): Promise<GuarantorRow[]> {
  return sql<GuarantorRow[]>`
    select guarantor_ref, name, phones, address, do_not_contact, cease_communication, preferred_channel, preferred_language
    from guarantors where account_id = ${accountId} ${refs ? sql`and guarantor_ref = any(${refs as string[]})` : sql``}
    order by id`;
}
