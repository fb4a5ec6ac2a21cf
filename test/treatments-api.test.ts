import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { getJson, openCaseByApi, payByWebhook, postJson, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * Treatments through the API on the real stack (dev server, worker, PostgreSQL): a plan that does not
 * cover the balance is a 422 with the amounts; reviews by role; reason 5 and an unmatched receipt
 * attached by finance (twice, applied once); the credit hold a write-off leaves, released by a
 * supervisor; grade and segment at intake.
 */
const TZ = 'Asia/Shanghai';
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const url = (accountId: string, path: string) => `${s.apiUrl}/v1/cases/${accountId}/${path}`;
async function openCase(prefix: string, extra: Record<string, unknown> = {}): Promise<string> {
  const accountId = uniqueAccountId(prefix);
  if (Object.keys(extra).length === 0) await openCaseByApi(s, accountId, { amountMinor: 300_000 });
  else {
    const r = await postJson(
      `${s.apiUrl}/v1/missed-payments`,
      {
        accountId,
        debtor: { name: '周八', timeZone: TZ, phones: ['+86 139 0000 0088'] },
        dueDate: addDays(localDate(Date.now(), TZ), -1),
        amountDue: { amountMinor: 300_000, currency: 'CNY' },
        ...extra,
      },
      s.keys.admin,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(202);
  }
  await expect.poll(async () => (await s.sql`select 1 from cases where account_id = ${accountId}`).length).toBe(1);
  return accountId;
}
const view = async (accountId: string) => (await getJson(url(accountId, '').replace(/\/$/, ''), s.keys.supervisor)).body;

describe('restructuring plans through the API', () => {
  it('a plan that does not cover the balance is a 422 with the amounts; reviews go by the key’s role', async () => {
    const accountId = await openCase('API-PLAN');
    const outstanding = (await view(accountId)).outstandingMinor as number;
    const today = localDate(Date.now(), TZ);
    const short = { instalments: [{ dueDate: addDays(today, 30), amountMinor: outstanding - 100 }] };
    const r = await postJson(url(accountId, 'plans'), short, s.keys.collector);
    expect(r.status).toBe(422);
    expect(r.body.detail).toMatch(
      /^the instalments add up to 2,\d{3}\.\d{2} CNY; they must add up to 3,\d{3}\.\d{2} CNY, the outstanding balance as of/,
    );

    const ok = await postJson(
      url(accountId, 'plans'),
      { instalments: [{ dueDate: addDays(today, 30), amountMinor: outstanding }] },
      s.keys.collector,
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.planNo).toBe(1);
    // A collector does not review; a manager does not approve before finance and legal.
    expect((await postJson(url(accountId, 'plans/decisions'), { decision: 'approve' }, s.keys.collector)).status).toBe(403);
    const early = await postJson(url(accountId, 'plans/decisions'), { decision: 'approve' }, s.keys.manager);
    expect(early.status).toBe(422);
    expect(early.body.detail).toBe('the manager approves after finance and legal review');
    expect((await postJson(url(accountId, 'plans/decisions'), { decision: 'approve' }, s.keys.finance)).status).toBe(200);
    expect(
      (await postJson(url(accountId, 'plans/decisions'), { decision: 'approve', note: 'collateral checked' }, s.keys.legal)).status,
    ).toBe(200);
    const started = await postJson(url(accountId, 'plans/decisions'), { decision: 'approve' }, s.keys.manager);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toMatchObject({ stage: 'restructured', planStatus: 'active' });
    const v = await view(accountId);
    expect(v.stage).toBe('restructured');
    expect(v.plans[0].approvals.map((a: { role: string; by: string }) => `${a.role}:${a.by}`)).toEqual([
      'finance:finance-1',
      'legal:legal-1',
      'manager:manager-1',
    ]);
    // An unknown key in the body is refused, not dropped.
    expect((await postJson(url(accountId, 'plans'), { ...short, instalment: [] }, s.keys.collector)).status).toBe(400);
  });
});

describe('settlement in kind through the API', () => {
  it('each step by the roles that record it: another role is 403, naming who may', async () => {
    const accountId = await openCase('API-KIND');
    expect((await postJson(url(accountId, 'in-kind'), { step: 'offered', asset: 'a van' }, s.keys.collector)).status).toBe(200);
    const wrong = await postJson(
      url(accountId, 'in-kind'),
      { step: 'appraised', valueMinor: 1, appraiser: 'a', document: 'd' },
      s.keys.collector,
    );
    expect(wrong.status).toBe(403);
    expect(wrong.body.detail).toBe("the appraised step is recorded by supervisor, finance or a manager; the key is a collector's");
    const appraised = await postJson(
      url(accountId, 'in-kind'),
      { step: 'appraised', valueMinor: 1, appraiser: 'a', document: 'd' },
      s.keys.finance,
    );
    expect(appraised.status).toBe(200);
    expect((await view(accountId)).inKind).toMatchObject({ status: 'appraised', appraisal: { valueMinor: 1, by: 'finance-1' } });
    // Out of order is the case's refusal: 422 with the reason.
    const early = await postJson(url(accountId, 'in-kind'), { step: 'transferred', document: 'd' }, s.keys.legal);
    expect(early).toMatchObject({ status: 422, body: { detail: 'title transfer follows legal preservation' } });
  });
});

describe('payment problems for finance', () => {
  it('reason 5 opens an investigation; finance attaches an unmatched receipt: applied once, twice answered the same', async () => {
    const accountId = await openCase('API-R5');
    const outcome = await postJson(
      url(accountId, 'contact-outcomes'),
      { channel: 'phone', outcome: 'reached', reasonCategory: 5, note: 'paid to his old card' },
      s.keys.collector,
    );
    expect(outcome.status).toBe(202);
    await expect
      .poll(async () =>
        (await getJson(`${s.apiUrl}/v1/payment-investigations`, s.keys.finance)).body.investigations.filter(
          (i: { accountId: string }) => i.accountId === accountId,
        ),
      )
      .toEqual([expect.objectContaining({ accountId, reasonCategory: 5, status: 'open', reportedBy: 'collector-1' })]);

    // The money came in under an account number no case has: kept as unmatched.
    const paymentId = `PAY-${accountId}`;
    const wrong = uniqueAccountId('NOCASE');
    expect((await payByWebhook(s.apiUrl, wrong, paymentId, 50_000)).status).toBe(404);
    expect((await postJson(url(accountId, 'receipts'), { paymentId }, s.keys.supervisor)).status).toBe(403);
    const first = await postJson(url(accountId, 'receipts'), { paymentId }, s.keys.finance);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ applied: true, investigationsResolved: 1 });
    const again = await postJson(url(accountId, 'receipts'), { paymentId }, s.keys.finance);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.applied).toBe(false);
    expect(await s.sql`select account_id, amount_minor from payments where payment_id = ${paymentId}`).toEqual([
      { account_id: accountId, amount_minor: 50_000 },
    ]);
    expect((await view(accountId)).paidMinor).toBe(50_000);
    expect(await s.sql`select status from payment_receipts where payment_id = ${paymentId}`).toEqual([{ status: 'redirected' }]);
    const resolved = (await getJson(`${s.apiUrl}/v1/payment-investigations?status=resolved`, s.keys.finance)).body.investigations;
    expect(resolved.find((i: { accountId: string }) => i.accountId === accountId)).toMatchObject({ resolvedBy: 'finance-1', paymentId });
  });
});

describe('the credit hold', () => {
  it('stays after a write-off until a supervisor releases it (audited); an open case keeps its hold', async () => {
    const open = await openCase('API-HOLD-OPEN');
    const r409 = await postJson(`${s.apiUrl}/v1/accounts/${open}/credit-hold/release`, { reason: 'try' }, s.keys.supervisor);
    expect(r409.status).toBe(409);

    const accountId = await openCase('API-HOLD');
    expect((await postJson(url(accountId, 'write-off'), { reason: 'uncollectable' }, s.keys.supervisor)).status).toBe(200);
    await expect
      .poll(async () => (await s.sql`select closed_at from cases where account_id = ${accountId}`)[0]?.closed_at ?? null)
      .not.toBeNull();
    expect(await s.sql`select lifted_at from credit_holds where account_id = ${accountId}`).toEqual([{ lifted_at: null }]);
    expect((await postJson(`${s.apiUrl}/v1/accounts/${accountId}/credit-hold/release`, { reason: 'x' }, s.keys.collector)).status).toBe(
      403,
    );
    const released = await postJson(
      `${s.apiUrl}/v1/accounts/${accountId}/credit-hold/release`,
      { reason: 'settled with the family' },
      s.keys.supervisor,
    );
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(released.body).toEqual({ released: 1 });
    const [hold] = await s.sql`select lifted_at, lift_reason, released_by from credit_holds where account_id = ${accountId}`;
    expect(hold).toMatchObject({ lift_reason: 'released: settled with the family', released_by: 'supervisor-1' });
    expect(hold!.lifted_at).not.toBeNull();
    expect(
      (await s.sql`select actor from audit_log where account_id = ${accountId} and action = 'credit-hold-released'`).map((a) => a.actor),
    ).toEqual(['supervisor-1']);
    expect(
      (await postJson(`${s.apiUrl}/v1/accounts/${accountId}/credit-hold/release`, { reason: 'again' }, s.keys.supervisor)).status,
    ).toBe(404);
  });
});

describe("the debtor's situation", () => {
  it('grade and segment at intake are on the case and its search attributes; the reasons have labels', async () => {
    const accountId = await openCase('API-SIT', { creditGrade: 'D', segment: 'micro-loan' });
    const v = await view(accountId);
    expect(v.situation).toEqual({ creditGrade: 'D', segment: 'micro-loan' });
    expect((await postJson(url(accountId, 'situation'), { funds: 'evasive' }, s.keys.collector)).status).toBe(200);
    expect((await view(accountId)).recommendation).toEqual({ treatment: 'litigate', why: 'malicious or evasive' });
    expect((await postJson(url(accountId, 'situation'), {}, s.keys.collector)).status).toBe(400);
    const bad = await postJson(`${s.apiUrl}/v1/missed-payments`, { creditGrade: 'Z' }, s.keys.admin);
    expect(bad.status).toBe(400);
    const reasons = (await getJson(`${s.apiUrl}/v1/reference/reasons`, s.keys.collector)).body;
    expect(reasons.reasons.map((r: { category: number }) => r.category)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reasons.reasons[4]).toMatchObject({ en: 'paid into the wrong account or card', kind: 'payment-problem' });
  });
});
