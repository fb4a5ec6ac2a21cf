import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';

const AccountId = z.string().min(1).max(100);
const IdNumber = z.string().min(4).max(40);

/**
 * Credit status for the systems that lend (issue 15, part 3): may this customer be lent to? Open credit
 * holds (an overdue account: articles 25–26) and blacklist entries (a long delinquency), by account or by
 * the debtor's identity number (all their accounts). De-listing is a supervisor's, audited.
 */
export function creditRoutes(d: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/v1/credit-status',
      tag: 'credit',
      summary:
        'May this customer be lent to: the open credit holds and blacklist entries (with their reason) of an account, or of every ' +
        "account of a debtor's identity number",
      access: { roles: ['lending', 'supervisor'] },
      query: z
        .object({ accountId: AccountId.optional(), idNumber: IdNumber.optional() })
        .strict()
        .refine((q) => (q.accountId === undefined) !== (q.idNumber === undefined), { message: 'give accountId or idNumber (one of them)' }),
      responses: {
        200: { description: 'The credit status', schema: z.record(z.string(), z.unknown()) },
        404: { description: 'No case was ever opened for the account (an unknown identity number is 200: never overdue here)' },
      },
      async handler({ query }) {
        // By account: that account and every other account of its debtor's identity number (the blacklist is
        // the person's). An account Recoup has never had a case for is 404, so a typo never reads as "may lend".
        let accounts: string[];
        if (query.accountId) {
          const [debtor] = await d.sql<{ id_number: string | null }[]>`select id_number from debtors where account_id = ${query.accountId}`;
          if (!debtor) {
            throw new HttpProblem(404, 'Not found', `no case has ever been opened for account ${query.accountId}: check the account key`);
          }
          const others = debtor.id_number
            ? await d.sql<{ account_id: string }[]>`
                select account_id from debtors where id_number = ${debtor.id_number} and account_id <> ${query.accountId} order by 1`
            : [];
          accounts = [query.accountId, ...others.map((r) => r.account_id)];
        } else {
          accounts = (
            await d.sql<{ account_id: string }[]>`select account_id from debtors where id_number = ${query.idNumber!} order by 1`
          ).map((r) => r.account_id);
        }
        const holds = await d.sql<{ account_id: string; case_key: string; reason: string; placed_at: Date }[]>`
          select account_id, case_key, reason, placed_at from credit_holds
          where account_id = any(${accounts}) and lifted_at is null order by placed_at`;
        const listed = await d.sql<
          {
            account_id: string;
            case_key: string;
            days_overdue: number;
            listed_at: Date;
            stage: string;
            delisted_at: Date | null;
            delisted_by: string | null;
            delist_reason: string | null;
          }[]
        >`select b.account_id, b.case_key, b.days_overdue, b.listed_at, c.stage, b.delisted_at, b.delisted_by, b.delist_reason
          from blacklist b join cases c on c.case_key = b.case_key
          where b.account_id = any(${accounts}) order by b.listed_at`;
        const blacklist = listed.map((b) => ({
          accountId: b.account_id,
          caseKey: b.case_key,
          listedAt: b.listed_at.toISOString(),
          reason: `${b.stage} after ${b.days_overdue} days overdue`,
          delisted: b.delisted_at ? { at: b.delisted_at.toISOString(), by: b.delisted_by, reason: b.delist_reason } : null,
        }));
        const held = holds.length > 0;
        const blacklisted = blacklist.some((b) => !b.delisted);
        return {
          status: 200,
          body: {
            ...(query.accountId ? { accountId: query.accountId } : { idNumber: query.idNumber }),
            accounts,
            /** No open hold and no standing blacklist entry. */
            mayLend: !held && !blacklisted,
            blacklisted,
            holds: holds.map((h) => ({
              accountId: h.account_id,
              caseKey: h.case_key,
              reason: h.reason,
              placedAt: h.placed_at.toISOString(),
            })),
            blacklist,
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/v1/credit-status/delist',
      tag: 'credit',
      summary: "De-list an account's blacklist entries (a supervisor's decision, with its reason; audited; the entries stay, marked)",
      access: { roles: ['supervisor'] },
      body: z.object({ accountId: AccountId, reason: z.string().trim().min(3).max(500) }).strict(),
      responses: {
        200: { description: 'De-listed', schema: z.object({ delisted: z.number().int() }) },
        404: { description: 'No standing blacklist entry for the account' },
      },
      async handler({ body, principal }) {
        const delisted = await d.sql.begin(async (tx) => {
          const rows = await tx<{ id: string; case_key: string }[]>`
            select id, case_key from blacklist where account_id = ${body.accountId} and delisted_at is null for update`;
          if (rows.length === 0) throw new HttpProblem(404, 'Not listed', `account ${body.accountId} has no standing blacklist entry`);
          const at = new Date().toISOString();
          for (const r of rows) {
            await tx`update blacklist set delisted_at = ${at}, delisted_by = ${principal!.subject}, delist_reason = ${body.reason}
                     where id = ${r.id}`;
            await audit(
              tx as never,
              principal!.subject,
              'delisted',
              { accountId: body.accountId, caseKey: r.case_key, idempotencyKey: `delisted:${r.id}`, at },
              { reason: body.reason },
            );
          }
          return rows.length;
        });
        return { status: 200, body: { delisted } };
      },
    }),
  ];
}
