import { z } from 'zod';
import {
  InKindStepBody,
  PlanDecisionBody,
  PlanProposalBody,
  ShortfallDecisionBody,
  SituationBody,
  type ApproverRole,
} from '../../shared/case';
import {
  decidePlanUpdate,
  decideShortfallUpdate,
  inKindStepUpdate,
  proposePlanUpdate,
  receivePaymentUpdate,
  setSituationUpdate,
} from '../../shared/messages';
import { FUNDS_LABELS, REASONS } from '../../shared/reasons';
import { IN_KIND_STEP_ROLES } from '../../workflows/core/treatments';
import { audit } from '../../activities/audit';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';
import { AccountParams, actingRole, caseMessaging } from './case-actions';

const PaymentId = z.string().min(1).max(100);
const Investigation = z.object({
  id: z.number().int(),
  accountId: z.string(),
  caseKey: z.string(),
  reasonCategory: z.number().int(),
  reportedBy: z.string(),
  note: z.string(),
  status: z.string(),
  openedAt: z.string(),
  resolvedBy: z.string().nullable(),
  paymentId: z.string().nullable(),
});

/**
 * Treatments that run (issue 12): restructuring plans and their reviews, the settlement in kind, the
 * debtor's situation, payment problems (reasons 4 and 5) for finance, and the credit hold's release.
 */
export function treatmentRoutes(d: ApiDeps) {
  const { update, action } = caseMessaging(d);
  const ok = (r: unknown) => ({ status: 200, body: r });

  return [
    action({
      name: 'plans',
      answers: 201,
      summary:
        'Propose a restructuring plan: dated instalments adding up to the outstanding balance (or a reduced amount), ' +
        'the penalty while it holds, collateral or a guarantee; finance and legal review it, then a manager approves',
      roles: ['collector', 'supervisor', 'manager'],
      body: PlanProposalBody,
      run: async (a, b, p) => ({ status: 201, body: await update(proposePlanUpdate, a, [{ ...b, by: p.subject }]) }),
    }),
    action({
      name: 'plans/decisions',
      answers: 200,
      summary:
        "Review the proposed plan as the key's role: finance or legal (either order), then a manager, whose approval starts it; " +
        'a refusal ends the proposal',
      roles: ['finance', 'legal', 'manager'],
      body: PlanDecisionBody,
      run: async (a, b, p) =>
        ok(await update(decidePlanUpdate, a, [{ ...b, by: p.subject, role: actingRole(p) as z.infer<typeof ApproverRole> }])),
    }),
    action({
      name: 'in-kind',
      answers: 200,
      summary:
        'A step of the settlement in kind: offered (collector, supervisor), appraised (supervisor, finance), preserved (legal), ' +
        'transferred (legal, supervisor: the appraised value is applied as a payment), abandoned (supervisor); managers any',
      roles: ['collector', 'supervisor', 'finance', 'legal', 'manager'],
      body: InKindStepBody,
      run: async (a, b, p) => {
        const role = actingRole(p);
        const roles = IN_KIND_STEP_ROLES[b.step];
        if (role !== 'manager' && !roles.includes(role))
          throw new HttpProblem(
            403,
            'Forbidden',
            `the ${b.step} step is recorded by ${roles.join(', ')} or a manager; the key is a ${role}'s`,
          );
        return ok(await update(inKindStepUpdate, a, [{ ...b, by: p.subject, role }]));
      },
    }),
    action({
      name: 'in-kind/shortfall',
      answers: 200,
      summary: "A manager's decision on what the appraised value leaves unpaid: written off when title passes, or still collected",
      roles: ['manager'],
      body: ShortfallDecisionBody,
      run: async (a, b, p) => ok(await update(decideShortfallUpdate, a, [{ ...b, by: p.subject, role: 'manager' }])),
    }),
    action({
      name: 'situation',
      answers: 200,
      summary:
        "The debtor's situation: credit grade and segment (the lender's), funds as observed; the case recommends a treatment from it",
      roles: ['collector', 'field-officer', 'supervisor', 'manager'],
      body: SituationBody,
      run: async (a, b, p) => ok(await update(setSituationUpdate, a, [{ ...b, by: p.subject }])),
    }),
    action({
      name: 'receipts',
      answers: 200,
      summary:
        "Attach a processor's receipt no case took (unmatched, after close, sent for another account) to this case: applied as a " +
        'payment once, through the ledger; open payment investigations of the case are resolved by it',
      roles: ['finance'],
      body: z.object({ paymentId: PaymentId }).strict(),
      run: async (accountId, { paymentId }, p) => {
        const [receipt] = await d.sql<{ account_id: string; amount_minor: string; currency: string; paid_at: Date; status: string }[]>`
          select account_id, amount_minor, currency, paid_at, status from payment_receipts
          where payment_id = ${paymentId} order by (account_id = ${accountId}) desc, id limit 1`;
        if (!receipt) throw new HttpProblem(404, 'No such receipt', `no payment receipt ${paymentId}`);
        // Only money no case took may be attached; one already applied here answers the same again (nothing twice).
        const [held] = await d.sql<{ account_id: string }[]>`select account_id from payments where payment_id = ${paymentId}`;
        if (held && held.account_id !== accountId)
          throw new HttpProblem(409, 'Receipt applied elsewhere', `payment ${paymentId} is applied to account ${held.account_id}`);
        if (!held && receipt.status !== 'unmatched' && receipt.status !== 'after-close')
          throw new HttpProblem(
            409,
            'Receipt not unmatched',
            `receipt ${paymentId} is ${receipt.status}: only a receipt no case took (unmatched, after close) can be attached`,
          );
        const r = await update(receivePaymentUpdate, accountId, [
          { paymentId, amountMinor: Number(receipt.amount_minor), currency: receipt.currency, paidAt: receipt.paid_at.toISOString() },
        ]);
        const resolved = await d.sql<{ id: number }[]>`
          update payment_investigations set status = 'resolved', resolved_by = ${p.subject}, resolved_at = now(), payment_id = ${paymentId}
          where account_id = ${accountId} and status = 'open' returning id`;
        const [c] = await d.sql<{ case_key: string }[]>`
          select case_key from cases where account_id = ${accountId} order by opened_at desc limit 1`;
        if (r.applied && c)
          await audit(
            d.sql,
            p.subject,
            'receipt-attached',
            { accountId, caseKey: c.case_key, idempotencyKey: `receipt-attached:${paymentId}`, at: new Date().toISOString() },
            { paymentId, investigationsResolved: resolved.map((x) => Number(x.id)) },
          );
        return ok({ ...r, investigationsResolved: resolved.length });
      },
    }),

    route({
      method: 'get',
      path: '/v1/payment-investigations',
      tag: 'finance',
      summary: 'Payment problems to look into (reasons 4 and 5 recorded on a contact): open ones by default, oldest first',
      access: { roles: ['finance', 'supervisor'] },
      query: z.object({ status: z.enum(['open', 'resolved']).default('open') }).strict(),
      responses: { 200: { description: 'The investigations', schema: z.object({ investigations: z.array(Investigation) }) } },
      async handler({ query }) {
        const rows = await d.sql<
          {
            id: string;
            account_id: string;
            case_key: string;
            reason_category: number;
            reported_by: string;
            note: string;
            status: string;
            opened_at: Date;
            resolved_by: string | null;
            payment_id: string | null;
          }[]
        >`select id, account_id, case_key, reason_category, reported_by, note, status, opened_at, resolved_by, payment_id
          from payment_investigations where status = ${query.status} order by opened_at, id limit 500`;
        return ok({
          investigations: rows.map((r) => ({
            id: Number(r.id),
            accountId: r.account_id,
            caseKey: r.case_key,
            reasonCategory: r.reason_category,
            reportedBy: r.reported_by,
            note: r.note,
            status: r.status,
            openedAt: r.opened_at.toISOString(),
            resolvedBy: r.resolved_by,
            paymentId: r.payment_id,
          })),
        });
      },
    }),

    route({
      method: 'post',
      path: '/v1/accounts/:accountId/credit-hold/release',
      tag: 'case actions',
      summary:
        'Release the credit hold a closed case left on the account (written off, legal-closed, settled with something forgiven): ' +
        'audited; an open case keeps its hold',
      access: { roles: ['supervisor'] },
      params: AccountParams,
      body: z.object({ reason: z.string().min(1).max(500) }).strict(),
      responses: {
        200: { description: 'Released', schema: z.object({ released: z.number().int() }) },
        404: { description: 'No hold on the account' },
        409: { description: "The account's case is open: the hold stays while it is overdue" },
      },
      async handler({ params, body, principal }) {
        const released = await d.sql.begin(async (tx) => {
          const holds = await tx<{ id: string; case_key: string; closed_at: Date | null }[]>`
            select h.id, h.case_key, c.closed_at from credit_holds h join cases c on c.case_key = h.case_key
            where h.account_id = ${params.accountId} and h.lifted_at is null for update of h`;
          if (holds.length === 0) throw new HttpProblem(404, 'No hold', `no credit hold on account ${params.accountId}`);
          if (holds.some((h) => !h.closed_at))
            throw new HttpProblem(409, 'Case open', `account ${params.accountId} has an open case: its credit hold stays until it closes`);
          const at = new Date().toISOString();
          for (const h of holds) {
            const why = `released: ${body.reason}`;
            await tx`update credit_holds set lifted_at = ${at}, lift_reason = ${why}, released_by = ${principal!.subject}
                     where id = ${h.id}`;
            await audit(
              tx as never,
              principal!.subject,
              'credit-hold-released',
              { accountId: params.accountId, caseKey: h.case_key, idempotencyKey: `credit-hold-released:${h.id}`, at },
              { reason: body.reason },
            );
          }
          return holds.length;
        });
        return ok({ released });
      },
    }),

    route({
      method: 'get',
      path: '/v1/reference/reasons',
      tag: 'reference',
      summary: 'Why accounts go overdue (the six reason categories) and the funds situations, with labels in zh-CN and en',
      access: { roles: ['collector', 'field-officer', 'supervisor', 'legal', 'manager', 'finance'] },
      responses: {
        200: {
          description: 'The taxonomy',
          schema: z.object({
            reasons: z.array(z.object({ category: z.number().int(), en: z.string(), zh: z.string(), kind: z.string() })),
            funds: z.array(z.object({ funds: z.string(), en: z.string(), zh: z.string() })),
          }),
        },
      },
      handler: async () => ok({ reasons: REASONS, funds: FUNDS_LABELS }),
    }),
  ];
}
