import { ApplicationFailure } from '@temporalio/common';
import type { Sql } from '../db/index';
import type { CaseActivities, StepRequest, StepResult } from '../shared/activities';
import { localDate } from '../shared/calendar';
import { ErrorTypes } from '../shared/errors';
import type { Balance } from '../shared/money';
import { audit, auditOnce, loadCase, loadDebtor, loadGuarantors, type DebtorRow, type GuarantorRow } from './audit';
import type { ChannelProvider } from './channels/index';
import { preferenceNote } from './contact';
import { renderDocument, type DocumentData, type DocumentKind, type DocumentLanguage } from './documents/render';
import { TEMPLATES } from './documents/templates';

type NoticeActivities = Pick<CaseActivities, 'serveOverdueNotice' | 'sendStatementOfAccount' | 'demandGuarantorPayment'>;

export interface LedgerAmounts extends Balance {
  totalMinor: number;
  paidMinor: number;
}

/**
 * The amounts a document may print: the ledger's, and only when they agree with what the case
 * believes. Principal is recomputed from the ledger's own rows (instalments less the principal part
 * of each payment); penalty and fees are the case row's. Any difference is a ReconciliationMismatch:
 * no letter goes out until someone looks (对账 before every letter).
 */
export async function reconciledAmounts(sql: Sql, req: Pick<StepRequest, 'caseKey' | 'balance'>): Promise<LedgerAmounts> {
  const c = await loadCase(sql, req.caseKey);
  const [sums] = await sql<{ missed: number; principal_paid: number; paid: number }[]>`
    select (select coalesce(sum(amount_minor), 0)::bigint from instalments where case_key = ${req.caseKey}) as missed,
           (select coalesce(sum(principal_minor), 0)::bigint from payments where case_key = ${req.caseKey}) as principal_paid,
           (select coalesce(sum(amount_minor), 0)::bigint from payments where case_key = ${req.caseKey}) as paid`;
  const ledger: LedgerAmounts = {
    principalMinor: sums!.missed - sums!.principal_paid,
    penaltyMinor: c.penalty_minor,
    feesMinor: c.fees_minor,
    totalMinor: 0,
    paidMinor: sums!.paid,
  };
  ledger.totalMinor = ledger.principalMinor + ledger.penaltyMinor + ledger.feesMinor;
  const diffs = (['principalMinor', 'penaltyMinor', 'feesMinor'] as const).filter((k) => ledger[k] !== req.balance[k]);
  if (diffs.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `ledger and case disagree on ${diffs.map((k) => `${k} (ledger ${ledger[k]}, case ${req.balance[k]})`).join(', ')}`,
      ErrorTypes.ReconciliationMismatch,
    );
  }
  return ledger;
}

const PREFIX: Record<DocumentKind, string> = {
  'overdue-notice': 'ON',
  'statement-of-account': 'SA',
  'lawyers-letter': 'LL',
  'guarantor-demand': 'GD',
};

/** A language the letters are rendered in (a template exists for it). */
function isLetterLanguage(language: string | null | undefined): language is DocumentLanguage {
  return !!language && Object.hasOwn(TEMPLATES, language);
}

/**
 * Whether a letter may go out, from the ledger's flags now: the debtor's do-not-contact,
 * cease-communication or the case's dispute refuse every letter; a guarantor's own flags refuse the
 * letters to that guarantor. Recorded (audit 'letter-refused', once per letter and instant).
 */
async function letterRefusal(
  sql: Sql,
  req: StepRequest,
  opts: IssueOptions,
  debtor: DebtorRow,
  guarantor: GuarantorRow | undefined,
): Promise<Extract<StepResult, { status: 'refused' }> | undefined> {
  let rule: string | undefined;
  let whose = 'the debtor is';
  if (debtor.do_not_contact) rule = 'do-not-contact';
  else if (debtor.cease_communication) rule = 'cease-communication';
  else if (req.inDispute) rule = 'dispute';
  else if (guarantor?.do_not_contact || guarantor?.cease_communication) {
    rule = guarantor.do_not_contact ? 'do-not-contact' : 'cease-communication';
    whose = `guarantor ${guarantor.guarantor_ref} is`;
  }
  if (!rule) return undefined;
  await auditOnce(
    sql,
    'compliance-guard',
    'letter-refused',
    { ...req, idempotencyKey: `${opts.idempotencyKey}:refused@${req.at}` },
    { kind: opts.kind, rule, ...(guarantor && opts.to.party === 'guarantor' ? { guarantorRef: guarantor.guarantor_ref } : {}) },
  );
  return { status: 'refused', rule, reason: `no ${opts.kind} while ${whose} flagged ${rule}` };
}

export interface IssueOptions {
  kind: DocumentKind;
  /** Whom the letter goes to: the debtor, or a guarantor by reference. */
  to: { party: 'debtor' } | { party: 'guarantor'; guarantorRef: string };
  idempotencyKey: string;
}

/**
 * Issues one letter: reconcile, render the PDF, record the notice, hand it to the letter channel,
 * log the contact and charge its cost. Safe to run twice: the notice row and the channel are keyed.
 * The letter is in its recipient's preferred language when the letters are rendered in it (the
 * debtor's, or the guarantor's for a letter to a guarantor), else in the playbook's letterLanguage.
 */
export async function issueDocument(sql: Sql, letters: ChannelProvider, req: StepRequest, opts: IssueOptions): Promise<StepResult> {
  const [done] = await sql<{ reference: string; delivery_status: string }[]>`
    select reference, delivery_status from notices where idempotency_key = ${opts.idempotencyKey}`;
  if (done && done.delivery_status !== 'failed' && done.delivery_status !== 'pending') return { status: 'done', reference: done.reference };

  const c = await loadCase(sql, req.caseKey);
  const debtor = await loadDebtor(sql, req.accountId);
  const [g] = opts.to.party === 'guarantor' ? await loadGuarantors(sql, req.accountId, [opts.to.guarantorRef]) : [];
  const refused = await letterRefusal(sql, req, opts, debtor, g);
  if (refused) return refused;
  if (opts.to.party === 'guarantor' && !g) {
    throw ApplicationFailure.nonRetryable(`no guarantor ${opts.to.guarantorRef}`, ErrorTypes.InvalidInput);
  }
  const recipient: { name: string; address: string | null } = g ?? { name: debtor.name, address: debtor.address };
  const guarantor = g ? { name: g.name, ...(g.address ? { address: g.address } : {}) } : undefined;
  const preferred = g ?? debtor;
  const language: DocumentLanguage = isLetterLanguage(preferred.preferred_language) ? preferred.preferred_language : req.letterLanguage;
  const note = preferenceNote(g ? 'guarantor' : 'debtor', preferred.preferred_channel, 'letter');

  // Checked before anything is written: a letter that cannot be addressed leaves no notice row behind.
  if (!recipient.address?.trim()) {
    const who = opts.to.party === 'guarantor' ? `guarantor ${opts.to.guarantorRef}` : 'the debtor';
    throw ApplicationFailure.create({
      message:
        `a ${opts.kind} needs the postal address of ${who}: ` +
        `add it (POST /v1/cases/${req.accountId}/contact-details) and the step can run`,
      type: ErrorTypes.LetterNotPossible,
      nonRetryable: true,
      details: [
        { missing: 'address', party: opts.to.party, ...(opts.to.party === 'guarantor' ? { guarantorRef: opts.to.guarantorRef } : {}) },
      ],
    });
  }

  const amounts = await reconciledAmounts(sql, req);
  const payments = await sql<{ paid_at: Date; amount_minor: number }[]>`
    select paid_at, amount_minor from payments where case_key = ${req.caseKey} order by paid_at`;
  const issuedOn = localDate(Date.parse(req.at), debtor.time_zone);
  const reference =
    `${PREFIX[opts.kind]}-${String(await caseNumber(sql, req.caseKey)).padStart(6, '0')}-D${req.day}` +
    `${opts.to.party === 'guarantor' ? `-${opts.to.guarantorRef}` : ''}`;
  const data: DocumentData = {
    kind: opts.kind,
    language,
    reference,
    issuedOn,
    creditor: req.creditor,
    debtor: {
      name: debtor.name,
      ...(debtor.id_number ? { idNumber: debtor.id_number } : {}),
      ...(debtor.address ? { address: debtor.address } : {}),
    },
    ...(guarantor ? { guarantor } : {}),
    accountId: req.accountId,
    currency: c.currency,
    dueDate: req.dueDate,
    daysOverdue: req.daysOverdue,
    amounts: {
      principalMinor: amounts.principalMinor,
      penaltyMinor: amounts.penaltyMinor,
      feesMinor: amounts.feesMinor,
      totalMinor: amounts.totalMinor,
    },
    payments: payments.map((p) => ({ paidAt: p.paid_at.toISOString().slice(0, 10), amountMinor: p.amount_minor })),
  };
  const doc = await renderDocument(data);

  await sql`
    insert into notices (idempotency_key, case_key, account_id, kind, language, reference, recipient, content_hash, document, currency,
                         principal_minor, penalty_minor, fees_minor, total_minor, delivery_channel, delivery_status, issued_at)
    values (${opts.idempotencyKey}, ${req.caseKey}, ${req.accountId}, ${opts.kind}, ${language}, ${reference}, ${recipient.name},
            ${doc.contentHash}, ${doc.pdf}, ${c.currency}, ${amounts.principalMinor}, ${amounts.penaltyMinor}, ${amounts.feesMinor},
            ${amounts.totalMinor}, 'letter', 'pending', ${req.at})
    on conflict (idempotency_key) do update set
      language = excluded.language, reference = excluded.reference, recipient = excluded.recipient, content_hash = excluded.content_hash,
      document = excluded.document,
      principal_minor = excluded.principal_minor, penalty_minor = excluded.penalty_minor, fees_minor = excluded.fees_minor,
      total_minor = excluded.total_minor, delivery_status = 'pending', issued_at = excluded.issued_at
    where notices.delivery_status = 'failed'`;
  const receipt = await sendOrMarkFailed(sql, opts.idempotencyKey, () =>
    letters.send({
      idempotencyKey: opts.idempotencyKey,
      channel: 'letter',
      caseKey: req.caseKey,
      accountId: req.accountId,
      recipient: { name: recipient.name, ...(recipient.address ? { address: recipient.address } : {}) },
      subject: reference,
      body: doc.text,
      document: {
        kind: opts.kind,
        language,
        reference,
        contentHash: doc.contentHash,
        pdfBase64: doc.pdf.toString('base64'),
      },
    }),
  );
  await sql.begin(async (tx) => {
    await tx`update notices set delivery_status = ${receipt.status}, provider_ref = ${receipt.providerRef}
             where idempotency_key = ${opts.idempotencyKey}`;
    await tx`
      insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, note, actor, attempted_at)
      values (${`${opts.idempotencyKey}:attempt`}, ${req.caseKey}, ${req.accountId}, 'letter', ${opts.to.party}, 'placed',
              ${reference + note}, 'case-workflow', ${req.at})
      on conflict (idempotency_key) do nothing`;
    if (req.costMinor > 0) {
      // Recoverable when the case charged it to the debt's fees part (req.feeMinor).
      await tx`insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at,
                                       recoverable)
               values (${`${opts.idempotencyKey}:cost`}, ${req.caseKey}, ${req.accountId}, ${opts.kind}, ${req.costMinor}, ${c.currency},
                       ${`${reference} by ${receipt.provider}`}, ${req.at}, ${(req.feeMinor ?? 0) > 0})
               on conflict (idempotency_key) do nothing`;
    }
    await audit(tx, 'case-workflow', 'document-issued', req, {
      kind: opts.kind,
      reference,
      language,
      contentHash: doc.contentHash,
      totalMinor: amounts.totalMinor,
      provider: receipt.provider,
      ...(note ? { preferredChannel: preferred.preferred_channel } : {}),
    });
  });
  return { status: 'done', reference };
}

/**
 * Hands the letter to its channel. A refusal that retrying cannot change (the channel rejects the
 * recipient or the letter) marks the notice `failed`, so no row waits as `pending` for ever and
 * finance never counts it as served; a transient failure leaves it `pending` for the retry.
 */
async function sendOrMarkFailed<T>(sql: Sql, idempotencyKey: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    if (e instanceof ApplicationFailure && e.nonRetryable) {
      await sql`update notices set delivery_status = 'failed' where idempotency_key = ${idempotencyKey} and delivery_status = 'pending'`;
    }
    throw e;
  }
}

async function caseNumber(sql: Sql, caseKey: string): Promise<number> {
  const [row] = await sql<{ id: number }[]>`select id from cases where case_key = ${caseKey}`;
  return row!.id;
}

export function createNoticeActivities({ sql, letters }: { sql: Sql; letters: ChannelProvider }): NoticeActivities {
  return {
    serveOverdueNotice: (req) =>
      issueDocument(sql, letters, req, { kind: 'overdue-notice', to: { party: 'debtor' }, idempotencyKey: req.idempotencyKey }),
    sendStatementOfAccount: (req) =>
      issueDocument(sql, letters, req, { kind: 'statement-of-account', to: { party: 'debtor' }, idempotencyKey: req.idempotencyKey }),
    /**
     * The demand that each guarantor pay in the debtor's place: to every guarantor or to none. The case
     * charges the letter fee of each guarantor before the step and gives it back only when the step does
     * not happen, so a guarantor flagged do-not-contact or cease-communication refuses the whole step
     * (checked for all before any letter goes out).
     */
    async demandGuarantorPayment(req) {
      const demand = (g: string): IssueOptions => ({
        kind: 'guarantor-demand',
        to: { party: 'guarantor', guarantorRef: g },
        idempotencyKey: `${req.idempotencyKey}:${g}`,
      });
      const debtor = await loadDebtor(sql, req.accountId);
      for (const g of await loadGuarantors(sql, req.accountId, req.guarantorIds)) {
        const [sent] = await sql`select 1 from notices where idempotency_key = ${demand(g.guarantor_ref).idempotencyKey}
                                 and delivery_status not in ('failed', 'pending')`;
        const refused = sent ? undefined : await letterRefusal(sql, req, demand(g.guarantor_ref), debtor, g);
        if (refused) return refused;
      }
      const refs: string[] = [];
      for (const g of req.guarantorIds) {
        const r = await issueDocument(sql, letters, req, demand(g));
        if (r.status !== 'done') return r;
        refs.push(r.reference);
      }
      return { status: 'done', reference: refs.join(',') };
    },
  };
}
