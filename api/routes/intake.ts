import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { addDays, isValidTimeZone, localDate } from '../../shared/calendar';
import { CaseInput, CreditGrade, Debtor, Guarantor, IsoDate, PaymentReceived, Segment } from '../../shared/case';
import { ErrorTypes } from '../../shared/errors';
import { caseWorkflowId } from '../../shared/ids';
import { caseStateQuery, receivePaymentUpdate, registerMissedPaymentUpdate } from '../../shared/messages';
import { Money } from '../../shared/money-schema';
import { DEFAULT_PLAYBOOK_ID, PLAYBOOKS } from '../../shared/playbooks';
import {
  CaseStage,
  CollectorId,
  CreditGrade as CreditGradeKey,
  HasGuarantor,
  OutstandingMinor,
  Segment as SegmentKey,
} from '../../shared/search-attributes';
import { END_STAGES } from '../../shared/stages';
import { verifySignature } from '../../shared/signature';
import type { ApiDeps } from '../deps';
import { HttpProblem, toProblem } from '../errors';
import { route } from '../registry';

export const AccountId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, dot, dash, underscore; at most 100');

export const MissedPaymentBody = z
  .object({
    accountId: AccountId,
    // Unknown keys are refused at every level, not dropped: a misspelt `phone` must not open a case without one.
    debtor: Debtor.strict().refine((d) => isValidTimeZone(d.timeZone), {
      message: 'an IANA time zone such as Asia/Shanghai',
      path: ['timeZone'],
    }),
    guarantors: z.array(Guarantor.strict()).max(10).default([]),
    dueDate: IsoDate,
    amountDue: Money.strict(),
    playbookId: z
      .string()
      .refine((id) => id in PLAYBOOKS, 'an existing playbook id')
      .default(DEFAULT_PLAYBOOK_ID),
    collectorId: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
    /** Credit grade (A best … E worst) and portfolio segment, as the lender's system knows them. */
    creditGrade: CreditGrade.optional(),
    segment: Segment.optional(),
  })
  .strict();

const MissedPaymentAccepted = z.object({
  caseId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  created: z.boolean(),
});

export const PaymentWebhookBody = PaymentReceived.extend({ accountId: AccountId }).strict();
const PaymentApplied = z.object({ applied: z.boolean() });

export function intakeRoutes(d: ApiDeps) {
  return [
    route({
      method: 'post',
      path: '/v1/missed-payments',
      tag: 'intake',
      summary: "A missed payment: opens the account's case, or adds the instalment to the open one. Idempotent on (accountId, dueDate).",
      access: { roles: ['supervisor', 'admin'] },
      body: MissedPaymentBody,
      responses: {
        202: { description: 'The case is open with this instalment in it', schema: MissedPaymentAccepted },
        400: { description: 'Invalid body' },
        409: { description: "The open case refuses the instalment (another currency, or not overdue in the case's zone)" },
        422: { description: "The due date has not passed in the debtor's time zone" },
      },
      async handler({ body }) {
        // An instalment is overdue once its due date has passed where the debtor lives: before that
        // there is nothing to collect (no case, no credit hold). The open case checks again in its own zone.
        const today = localDate((d.now ?? Date.now)(), body.debtor.timeZone);
        if (body.dueDate >= today) {
          throw new HttpProblem(
            422,
            'Not overdue yet',
            `the instalment due ${body.dueDate} has not passed in ${body.debtor.timeZone} (today is ${today} there): ` +
              `it can be reported from ${addDays(body.dueDate, 1)}`,
            { dueDate: body.dueDate, today, timeZone: body.debtor.timeZone },
          );
        }
        const workflowId = caseWorkflowId(body.accountId);
        const missed = { dueDate: body.dueDate, amountMinor: body.amountDue.amountMinor, currency: body.amountDue.currency };
        // An instalment already in a closed case is not a new delinquency: answer with that case.
        const [prior] = await d.sql<{ case_key: string }[]>`
          select i.case_key from instalments i join cases c on c.case_key = i.case_key
          where i.account_id = ${body.accountId} and i.due_date = ${body.dueDate} and c.closed_at is not null`;
        if (prior) return { status: 202, body: accepted(prior.case_key, false) };

        // A debtor already on the blacklist (this account, or another of their identity number): the case is told.
        const listed = await d.sql<{ account_id: string; listed_at: Date; stage: string; days_overdue: number }[]>`
          select b.account_id, b.listed_at, c.stage, b.days_overdue from blacklist b join cases c on c.case_key = b.case_key
          where b.delisted_at is null
            and (b.account_id = ${body.accountId}
                 or (${body.debtor.idNumber ?? null}::text is not null
                     and b.account_id in (select account_id from debtors where id_number = ${body.debtor.idNumber ?? null})))
          order by b.listed_at limit 20`;
        const input: CaseInput = {
          ...(listed.length > 0
            ? {
                blacklistedBefore: listed.map((b) => ({
                  accountId: b.account_id,
                  listedAt: b.listed_at.toISOString(),
                  reason: `${b.stage} after ${b.days_overdue} days overdue`,
                })),
              }
            : {}),
          accountId: body.accountId,
          debtor: body.debtor,
          guarantors: body.guarantors,
          currency: missed.currency,
          firstMissed: missed,
          // By id and version: the case's input (and every history) stays small; the worker has the playbook.
          playbookRef: { id: body.playbookId, version: PLAYBOOKS[body.playbookId]!.version },
          ...(body.collectorId ? { collectorId: body.collectorId } : {}),
          ...(body.creditGrade || body.segment
            ? {
                situation: {
                  ...(body.creditGrade ? { creditGrade: body.creditGrade } : {}),
                  ...(body.segment ? { segment: body.segment } : {}),
                },
              }
            : {}),
        };
        const options = {
          workflowId,
          taskQueue: d.taskQueue,
          args: [input] as [CaseInput],
          staticSummary: `Collection case for account ${body.accountId} (${body.playbookId})`,
          typedSearchAttributes: [
            { key: CaseStage, value: 'open' },
            { key: OutstandingMinor, value: missed.amountMinor },
            { key: HasGuarantor, value: body.guarantors.length > 0 },
            ...(body.collectorId ? [{ key: CollectorId, value: body.collectorId }] : []),
            ...(body.creditGrade ? [{ key: CreditGradeKey, value: body.creditGrade }] : []),
            ...(body.segment ? [{ key: SegmentKey, value: body.segment }] : []),
          ],
        };
        // A new case is a plain start, answered as soon as the server has it: the instalment is in the
        // case's input and nothing can refuse it, so the API does not wait for the worker. (The case
        // writes its ledger rows on its first task; GET /v1/cases/:accountId waits for that.)
        try {
          const handle = await d.client.workflow.start('collectionCase', { ...options, workflowIdConflictPolicy: 'FAIL' });
          return { status: 202, body: accepted(`${workflowId}/${handle.firstExecutionRunId}`, true) };
        } catch (e) {
          if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        }
        // An open case: the instalment joins it by an update, which the case may refuse. Update-with-start,
        // so that a case closing between the two calls is opened afresh rather than missed.
        const start = new WithStartWorkflowOperation('collectionCase', { ...options, workflowIdConflictPolicy: 'USE_EXISTING' });
        try {
          const r = await d.client.workflow.executeUpdateWithStart(registerMissedPaymentUpdate, {
            args: [missed],
            startWorkflowOperation: start,
          });
          return { status: 202, body: accepted(r.caseKey, r.created) };
        } catch (e) {
          if (e instanceof WorkflowUpdateFailedError)
            throw new HttpProblem(409, 'Conflict with the open case', e.cause?.message ?? e.message);
          throw e;
        }
      },
    }),

    route({
      method: 'post',
      path: '/v1/webhooks/payments',
      tag: 'intake',
      summary: 'A payment from the processor, signed (Recoup-Signature). A duplicate is applied once; every payment is kept for finance.',
      access: 'signature',
      body: PaymentWebhookBody,
      responses: {
        200: { description: 'Taken: applied now (true) or already applied (false)', schema: PaymentApplied },
        400: { description: 'Invalid body' },
        401: { description: 'Missing, wrong or stale signature' },
        404: { description: 'No case for the account: the payment is kept as unmatched' },
        409: {
          description: 'The case is closed, or the payment id is held by another account (both named): the payment is kept for finance',
        },
        422: { description: 'Refused by the case (another currency): kept as rejected' },
        503: {
          description:
            'The ledger did not take the payment in time (nothing was applied), or the ledger has it and the case not yet: send it again',
        },
      },
      async handler({ body }) {
        const { accountId, ...payment } = body;
        const claim = await claimReceipt(d, accountId, payment);
        if (claim.heldBy) {
          throw new HttpProblem(
            409,
            'Payment id held by another account',
            `payment ${payment.paymentId} is already ${claim.heldBy.how} account ${claim.heldBy.accountId}; ` +
              `refused for account ${accountId} and kept as rejected`,
            { paymentId: payment.paymentId, accountId, heldBy: claim.heldBy.accountId },
          );
        }
        const mark = (status: string, detail?: string) =>
          d.sql`update payment_receipts set status = ${status}, detail = ${detail ?? null}
                where payment_id = ${payment.paymentId} and account_id = ${accountId} and status <> 'applied'`;
        try {
          const r = await d.client.workflow.getHandle(caseWorkflowId(accountId)).executeUpdate(receivePaymentUpdate, { args: [payment] });
          // Applied with its ledger row (inLedger): the receipt was marked in that transaction. Else mark it here.
          if (!r.applied) await mark('duplicate');
          else if (!r.inLedger) {
            await mark('applied');
            // The same payment sent earlier for an account no case took it for (no case, or a closed one):
            // finance sees where it went, and does not return money a case has applied.
            await d.sql`update payment_receipts set status = 'redirected', detail = ${`applied to account ${accountId}`}
                        where payment_id = ${payment.paymentId} and account_id <> ${accountId} and status in ('unmatched', 'after-close')`;
          }
          return { status: 200, body: { applied: r.applied } };
        } catch (e) {
          // Already applied to the case before it closed: a duplicate delivery, not a new payment.
          const [known] = await d.sql`select 1 from payments where payment_id = ${payment.paymentId} and account_id = ${accountId}`;
          if (known) {
            // In the ledger, but an open case that does not know it: the workflow task that wrote it failed after
            // the write (the update went with it). Sent again, the case takes it (the ledger write is idempotent).
            const view = await d.client.workflow
              .getHandle(caseWorkflowId(accountId))
              .query(caseStateQuery)
              .catch(() => undefined);
            if (view && !END_STAGES.has(view.stage) && !view.payments.some((x) => x.paymentId === payment.paymentId))
              throw new HttpProblem(
                503,
                'Payment not taken by the case yet',
                `payment ${payment.paymentId} is in the ledger but the case has not taken it yet; send it again`,
              );
            await mark('duplicate');
            return { status: 200, body: { applied: false } };
          }
          if (
            e instanceof WorkflowNotFoundError &&
            (await d.sql`select 1 from cases where account_id = ${accountId} and closed_at is not null`).length > 0
          ) {
            await mark('after-close', 'the case is closed');
            throw new HttpProblem(409, 'Case closed', `the case for ${accountId} is closed; the payment is kept for finance`);
          }
          if (e instanceof WorkflowNotFoundError) {
            await mark('unmatched', 'no case for the account');
            throw new HttpProblem(404, 'Not found', `no case for account ${accountId}; the payment is kept for finance`);
          }
          const failure = failureType(e);
          if (failure === ErrorTypes.PaymentIdConflict) {
            // The ledger refused it (the case took nothing): its message names both accounts.
            const detail = (e as WorkflowUpdateFailedError).cause?.message ?? 'the ledger holds this payment id for another account';
            const [holder] = await d.sql<{ account_id: string }[]>`select account_id from payments where payment_id = ${payment.paymentId}`;
            await mark('rejected', detail);
            throw new HttpProblem(409, 'Payment id held by another account', detail, {
              paymentId: payment.paymentId,
              accountId,
              ...(holder ? { heldBy: holder.account_id } : {}),
            });
          }
          if (failure === 'LedgerUnavailable') {
            // Not applied anywhere; the receipt stays `received` (this account's claim) for the processor's retry.
            throw new HttpProblem(
              503,
              'Ledger unavailable',
              'the payment could not be written to the ledger; nothing was applied, send it again',
            );
          }
          const p = toProblem(e);
          if (p.status === 409 || p.status === 422) await mark(p.status === 409 ? 'after-close' : 'rejected', p.detail);
          throw p;
        }
      },
    }),
  ];
}

/**
 * Keeps the processor's report for finance, one receipt per (payment id, account), and claims the
 * payment id for this account. Only one account can hold a payment id (a partial unique index over
 * the live statuses), so two webhooks racing with one id for two accounts cannot both reach a case.
 * A payment id another account holds, in a receipt or in the ledger, leaves this receipt `rejected`.
 */
async function claimReceipt(d: ApiDeps, accountId: string, p: PaymentReceived): Promise<{ heldBy?: { accountId: string; how: string } }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // One statement: look for a holder, and claim the id for this account when there is none.
      // New: claimed. Known for this account (a redelivery): claimed again unless it is live already.
      const [held] = await d.sql<{ account_id: string; how: string }[]>`
        with held as (
          select account_id, 'recorded for' as how from payments where payment_id = ${p.paymentId} and account_id <> ${accountId}
          union all
          select account_id, 'taken by' from payment_receipts
          where payment_id = ${p.paymentId} and account_id <> ${accountId} and status in ('received', 'applied', 'duplicate')
          limit 1
        ), claim as (
          insert into payment_receipts (payment_id, account_id, amount_minor, currency, paid_at)
          select ${p.paymentId}, ${accountId}, ${p.amountMinor}, ${p.currency}, ${p.paidAt} where not exists (select 1 from held)
          on conflict (payment_id, account_id) do update set status = 'received', detail = null
          where payment_receipts.status in ('unmatched', 'after-close', 'rejected', 'redirected')
        )
        select account_id, how from held`;
      if (!held) return {};
      const detail = `payment id already ${held.how} account ${held.account_id}`;
      await d.sql`
        insert into payment_receipts (payment_id, account_id, amount_minor, currency, paid_at, status, detail)
        values (${p.paymentId}, ${accountId}, ${p.amountMinor}, ${p.currency}, ${p.paidAt}, 'rejected', ${detail})
        on conflict (payment_id, account_id) do update set status = 'rejected', detail = excluded.detail
        where payment_receipts.status not in ('received', 'applied', 'duplicate')`;
      return { heldBy: { accountId: held.account_id, how: held.how } };
    } catch (e) {
      // Another account claimed it between the check and the claim: look again.
      if ((e as { code?: string }).code !== '23505') throw e;
    }
  }
  throw new HttpProblem(
    409,
    'Payment id contested',
    `payment ${p.paymentId} is being claimed for another account at this moment; send it again`,
  );
}

/** The ApplicationFailure type behind a failed update (the case's, or an activity's it passed on). */
function failureType(e: unknown): string | undefined {
  let cause: unknown = e instanceof WorkflowUpdateFailedError ? e.cause : undefined;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type) return cause.type;
    cause = (cause as Error).cause;
  }
  return undefined;
}

function accepted(caseKey: string, created: boolean) {
  const [workflowId, runId] = caseKey.split('/') as [string, string];
  return { caseId: caseKey, workflowId, runId, created };
}

/** Checks the webhook's signature over the raw body before anything else. */
export function checkWebhookSignature(d: ApiDeps, header: string | undefined, rawBody: string): void {
  if (!d.webhookSecret) throw new HttpProblem(503, 'Webhooks not configured', 'set RECOUP_WEBHOOK_SECRET');
  if (!header) throw new HttpProblem(401, 'Unauthorized', 'missing Recoup-Signature header');
  const nowSeconds = Math.floor((d.now ?? Date.now)() / 1000);
  if (!verifySignature(header, rawBody, d.webhookSecret, nowSeconds)) {
    throw new HttpProblem(401, 'Unauthorized', 'bad signature, or a timestamp more than 5 minutes off');
  }
}
