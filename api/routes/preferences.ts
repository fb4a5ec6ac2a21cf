import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';
import { AccountParams } from './case-actions';

const Preferences = z
  .object({
    /** Contact the debtor by no channel at all (their request, or a regulator's order). */
    doNotContact: z.boolean().optional(),
    /** The debtor asked, in writing, that communication cease (12 CFR 1006.6(c) in the US). */
    ceaseCommunication: z.boolean().optional(),
    /** Why: the debtor's letter, the call it was asked in. */
    reason: z.string().trim().min(3).max(500),
  })
  .strict()
  .refine((p) => p.doNotContact !== undefined || p.ceaseCommunication !== undefined, {
    message: 'set doNotContact or ceaseCommunication (or both)',
  });

/**
 * A debtor's contact preferences (issue 15, part 4, started): do-not-contact and cease-communication,
 * set through the API and audited. The compliance guard reads them from the ledger before every call,
 * visit, message and letter, so a running case's next contact obeys them at once.
 */
export function preferenceRoutes(d: ApiDeps) {
  const read = async (accountId: string) => {
    const [row] = await d.sql<{ do_not_contact: boolean; cease_communication: boolean; updated_at: Date }[]>`
      select do_not_contact, cease_communication, updated_at from debtors where account_id = ${accountId}`;
    if (!row) throw new HttpProblem(404, 'Not found', `no debtor for account ${accountId}`);
    return {
      accountId,
      doNotContact: row.do_not_contact,
      ceaseCommunication: row.cease_communication,
      updatedAt: row.updated_at.toISOString(),
    };
  };
  return [
    route({
      method: 'get',
      path: '/v1/accounts/:accountId/contact-preferences',
      tag: 'compliance',
      summary: "The debtor's contact preferences: do-not-contact, cease-communication",
      access: { roles: ['collector', 'field-officer', 'supervisor', 'legal'] },
      params: AccountParams,
      responses: {
        200: { description: 'The preferences', schema: z.record(z.string(), z.unknown()) },
        404: { description: 'No such debtor' },
      },
      async handler({ params }) {
        return { status: 200, body: await read(params.accountId) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/accounts/:accountId/contact-preferences',
      tag: 'compliance',
      summary:
        "Set the debtor's do-not-contact or cease-communication (a collector records the debtor's request, a supervisor decides): " +
        'audited; the next contact of a running case obeys it',
      access: { roles: ['collector', 'supervisor'] },
      params: AccountParams,
      body: Preferences,
      responses: {
        200: { description: 'The preferences as now set', schema: z.record(z.string(), z.unknown()) },
        404: { description: 'No such debtor' },
      },
      async handler({ params, body, principal }) {
        await d.sql.begin(async (tx) => {
          const [before] = await tx<{ do_not_contact: boolean; cease_communication: boolean }[]>`
            select do_not_contact, cease_communication from debtors where account_id = ${params.accountId} for update`;
          if (!before) throw new HttpProblem(404, 'Not found', `no debtor for account ${params.accountId}`);
          const after = {
            doNotContact: body.doNotContact ?? before.do_not_contact,
            ceaseCommunication: body.ceaseCommunication ?? before.cease_communication,
          };
          await tx`update debtors set do_not_contact = ${after.doNotContact}, cease_communication = ${after.ceaseCommunication},
                   updated_at = now() where account_id = ${params.accountId}`;
          const [c] = await tx<{ case_key: string }[]>`
            select case_key from cases where account_id = ${params.accountId} order by opened_at desc limit 1`;
          const at = new Date().toISOString();
          await audit(
            tx as never,
            principal!.subject,
            'contact-preferences',
            {
              accountId: params.accountId,
              caseKey: (c?.case_key ?? null) as never,
              idempotencyKey: `contact-preferences:${params.accountId}:${at}`,
              at,
            },
            { before: { doNotContact: before.do_not_contact, ceaseCommunication: before.cease_communication }, after, reason: body.reason },
          );
        });
        return { status: 200, body: await read(params.accountId) };
      },
    }),
  ];
}
