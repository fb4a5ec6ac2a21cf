import { createApiKey, ROLES, type Role } from '../api/auth';
import type { Sql } from '../db/index';

/** A small demo portfolio, opened through the public API like a lender's system would. */
const ACCOUNTS = [
  {
    accountId: 'ML-2026-0001',
    dueDate: '2026-11-20',
    amountMinor: 1_250_000,
    debtor: {
      name: '王建国',
      idNumber: '110108198001011234',
      phones: ['+86 138 0013 8000'],
      address: '北京市海淀区中关村大街1号',
      region: 'Haidian',
    },
    guarantors: [{ id: 'G-0001', name: '李保证', phones: ['+86 139 0013 9000'], address: '北京市朝阳区建国路2号' }],
  },
  {
    accountId: 'ML-2026-0002',
    dueDate: '2026-11-25',
    amountMinor: 380_000,
    debtor: {
      name: '李秀英',
      idNumber: '110105199203034321',
      phones: ['+86 137 0013 7000'],
      address: '北京市朝阳区三里屯路3号',
      region: 'Chaoyang',
    },
    guarantors: [],
  },
  {
    accountId: 'ML-2026-0003',
    dueDate: '2026-11-27',
    amountMinor: 5_600_000,
    debtor: { name: '陈氏农资店 (Chen Farm Supplies)', phones: ['+86 136 0013 6000'], address: '北京市海淀区西三旗4号', region: 'Haidian' },
    guarantors: [],
  },
];

/** Field officers the demo assigns visits to (operations maintain this table in production). */
export async function seedFieldOfficers(sql: Sql): Promise<void> {
  await sql`insert into field_officers (officer_id, name, region, vehicle) values
    ('FO-HD-1', '赵外勤', 'Haidian', '京A-10001'), ('FO-HD-2', '钱外勤', 'Haidian', '京A-10002'), ('FO-CY-1', '孙外勤', 'Chaoyang', '京A-20001')
    on conflict (officer_id) do nothing`;
}

/** One key per role for the demo's users; printed at start-up, stored hashed like any key. */
export async function demoApiKeys(sql: Sql): Promise<Record<Role, string>> {
  const keys = {} as Record<Role, string>;
  for (const role of ROLES)
    keys[role] = await createApiKey(
      sql,
      role === 'collector' ? 'collector-1' : role === 'field-officer' ? 'FO-HD-1' : `demo-${role}`,
      role,
    );
  return keys;
}

export async function seedDemoPortfolio(apiUrl: string, adminKey: string): Promise<string[]> {
  for (const a of ACCOUNTS) {
    const res = await fetch(`${apiUrl}/v1/missed-payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({
        accountId: a.accountId,
        debtor: { ...a.debtor, timeZone: 'Asia/Shanghai', jurisdiction: 'CN' },
        guarantors: a.guarantors,
        dueDate: a.dueDate,
        amountDue: { amountMinor: a.amountMinor, currency: 'CNY' },
        collectorId: 'collector-1',
      }),
    });
    if (res.status !== 202) throw new Error(`seeding ${a.accountId}: ${res.status} ${await res.text()}`);
  }
  return ACCOUNTS.map((a) => a.accountId);
}
