import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { isValidTimeZone } from '../../shared/calendar';
import { CaseInput, Debtor, Guarantor, IsoDate, PaymentReceived } from '../../shared/case';
import { caseWorkflowId } from '../../shared/ids';
import { receivePaymentUpdate, registerMissedPaymentUpdate } from '../../shared/messages';
import { Money } from '../../shared/money-schema';
import { DEFAULT_PLAYBOOK_ID, PLAYBOOKS } from '../../shared/playbooks';
import { CaseStage, CollectorId, HasGuarantor, OutstandingMinor } from '../../shared/search-attributes';
import { verifySignature } from '../../shared/signature';
import type { ApiDeps } from '../deps';
import { HttpProblem, parseOr400, toProblem } from '../errors';
import { route } from '../registry';

export const AccountId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, dot, dash, underscore; at most 100');

export const MissedPaymentBody = z
  .object({
    accountId: AccountId,
    // Unknown keys are refused at every level, not dropped: a misspelt `phone` must not open a case without one.
    debtor: Debtor.strict().refine((d) => isValidTimeZone(d.timeZone), { message: 'an IANA time zone such as Asia/Shanghai', path: ['timeZone'] }),
    guarantors: z.array(Guarantor.strict()).max(10).default([]),
    dueDate: IsoDate,
    amountDue: Money.strict(),
    playbookId: z.string().refine((id) => id in PLAYBOOKS, 'an existing playbook id').default(DEFAULT_PLAYBOOK_ID),
    collectorId: z.string().regex(/^[\w.-]{1,100}$/).optional(),
  })
  .strict();

export const MissedPaymentAccepted = z.object({
  caseId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  created: z.boolean(),
});

export const PaymentWebhookBody = PaymentReceived.extend({ accountId: AccountId }).strict();
export const PaymentApplied = z.object({ applied: z.boolean() });

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
        409: { description: 'The open case is in another currency' },
      },
      async handler({ body }) {
        const workflowId = caseWorkflowId(body.accountId);
        const missed = { dueDate: body.dueDate, amountMinor: body.amountDue.amountMinor, currency: body.amountDue.currency };
        // An instalment already in a closed case is not a new delinquency: answer with that case.
        const [prior] = await d.sql<{ case_key: string }[]>`
          select i.case_key from instalments i join cases c on c.case_key = i.case_key
          where i.account_id = ${body.accountId} and i.due_date = ${body.dueDate} and c.closed_at is not null`;
        if (prior) return { status: 202, body: accepted(prior.case_key, false) };

        const input: CaseInput = {
          accountId: body.accountId,
          debtor: body.debtor,
          guarantors: body.guarantors,
          currency: missed.currency,
          firstMissed: missed,
          playbook: PLAYBOOKS[body.playbookId]!,
          ...(body.collectorId ? { collectorId: body.collectorId } : {}),
        };
        const start = new WithStartWorkflowOperation('collectionCase', {
          workflowId,
          taskQueue: d.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `Collection case for account ${body.accountId} (${body.playbookId})`,
          typedSearchAttributes: [
            { key: CaseStage, value: 'open' },
            { key: OutstandingMinor, value: missed.amountMinor },
            { key: HasGuarantor, value: body.guarantors.length > 0 },
            ...(body.collectorId ? [{ key: CollectorId, value: body.collectorId }] : []),
          ],
        });
        try {
          const r = await d.client.workflow.executeUpdateWithStart(registerMissedPaymentUpdate, { args: [missed], startWorkflowOperation: start });
          return { status: 202, body: accepted(r.caseKey, r.created) };
        } catch (e) {
          if (e instanceof WorkflowUpdateFailedError) throw new HttpProblem(409, 'Conflict with the open case', e.cause?.message ?? e.message);
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
        409: { description: 'The case is closed: the payment is kept for finance' },
        422: { description: 'Refused by the case (another currency): kept as rejected' },
      },
      async handler({ body }) {
        const { accountId, ...payment } = body;
        await d.sql`
          insert into payment_receipts (payment_id, account_id, amount_minor, currency, paid_at)
          values (${payment.paymentId}, ${accountId}, ${payment.amountMinor}, ${payment.currency}, ${payment.paidAt})
          on conflict (payment_id) do nothing`;
        const mark = (status: string, detail?: string) =>
          d.sql`update payment_receipts set status = ${status}, detail = ${detail ?? null} where payment_id = ${payment.paymentId} and status <> 'applied'`;
        try {
          const r = await d.client.workflow.getHandle(caseWorkflowId(accountId)).executeUpdate(receivePaymentUpdate, { args: [payment] });
          await mark(r.applied ? 'applied' : 'duplicate');
          return { status: 200, body: { applied: r.applied } };
        } catch (e) {
          // Already applied to the case before it closed: a duplicate delivery, not a new payment.
          const [known] = await d.sql`select 1 from payments where payment_id = ${payment.paymentId} and account_id = ${accountId}`;
          if (known) return { status: 200, body: { applied: false } };
          if (e instanceof WorkflowNotFoundError && (await d.sql`select 1 from cases where account_id = ${accountId} and closed_at is not null`).length > 0) {
            await mark('after-close', 'the case is closed');
            throw new HttpProblem(409, 'Case closed', `the case for ${accountId} is closed; the payment is kept for finance`);
          }
          if (e instanceof WorkflowNotFoundError) {
            await mark('unmatched', 'no case for the account');
            throw new HttpProblem(404, 'Not found', `no case for account ${accountId}; the payment is kept for finance`);
          }
          const p = toProblem(e);
          if (p.status === 409 || p.status === 422) await mark(p.status === 409 ? 'after-close' : 'rejected', p.detail);
          throw p;
        }
      },
    }),
  ];
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

export { parseOr400 };
