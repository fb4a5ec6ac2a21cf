/** A small demo portfolio, opened through the public API like a lender's system would. */
const ACCOUNTS = [
  { accountId: 'ML-2026-0001', name: '王建国 (Wang Jianguo)', dueDate: '2026-11-20', amountMinor: 1_250_000 },
  { accountId: 'ML-2026-0002', name: '李秀英 (Li Xiuying)', dueDate: '2026-11-25', amountMinor: 380_000 },
  { accountId: 'ML-2026-0003', name: 'Chen Farm Supplies', dueDate: '2026-11-27', amountMinor: 5_600_000 },
];

export async function seedDemoPortfolio(apiUrl: string): Promise<string[]> {
  for (const a of ACCOUNTS) {
    const res = await fetch(`${apiUrl}/v1/missed-payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        accountId: a.accountId,
        debtor: { name: a.name, timeZone: 'Asia/Shanghai' },
        dueDate: a.dueDate,
        amountDue: { amountMinor: a.amountMinor, currency: 'CNY' },
      }),
    });
    if (res.status !== 202) throw new Error(`seeding ${a.accountId}: ${res.status} ${await res.text()}`);
  }
  return ACCOUNTS.map((a) => a.accountId);
}
