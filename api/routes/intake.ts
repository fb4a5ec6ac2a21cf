import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { IntakeRefused, openOrJoinCase } from '../../activities/intake';
import { PaymentReceived } from '../../shared/case';
import { ErrorTypes } from '../../shared/errors';
import { caseWorkflowId } from '../../shared/ids';
import { AccountId, MissedPaymentBody } from '../../shared/intake';
import { caseStateQuery, receivePaymentUpdate } from '../../shared/messages';
import { END_STAGES } from '../../shared/stages';
import { verifySignature } from '../../shared/signature';
import type { ApiDeps } from '../deps';
import { HttpProblem, toProblem } from '../errors';
import { route } from '../registry';

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
        try {
          const r = await openOrJoinCase(d, body);
          return { status: 202, body: accepted(r.caseKey, r.created) };
        } catch (e) {
          if (e instanceof IntakeRefused) throw new HttpProblem(e.status, e.title, e.detail, e.extra);
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
