import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createApiKey, ROLES, type Role } from '../api/auth';
import type { Sql } from '../db/index';
import { addDays, localDate } from '../shared/calendar';
import { PROJECT_ROOT } from './tools';

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
    creditGrade: 'C',
    segment: 'micro-loan',
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
    creditGrade: 'B',
    segment: 'micro-loan',
  },
  {
    accountId: 'ML-2026-0003',
    dueDate: '2026-11-27',
    amountMinor: 5_600_000,
    debtor: { name: '陈氏农资店 (Chen Farm Supplies)', phones: ['+86 136 0013 6000'], address: '北京市海淀区西三旗4号', region: 'Haidian' },
    guarantors: [],
    creditGrade: 'D',
    segment: 'sme',
  },
  {
    accountId: 'ML-2026-0004',
    dueDate: '2026-11-10',
    amountMinor: 2_400_000,
    debtor: {
      name: '刘记餐馆 (Liu Family Restaurant)',
      phones: ['+86 135 0013 5000'],
      address: '北京市朝阳区望京街5号',
      region: 'Chaoyang',
    },
    guarantors: [],
    creditGrade: 'B',
    segment: 'sme',
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

/**
 * The demo's clearance team (issue 13): its leader is the demo supervisor, two collectors (the demo's
 * collector key is collector-1's), and one rule that routes every case to it. Upserts; the rule once.
 */
async function seedDemoTeam(apiUrl: string, adminKey: string): Promise<void> {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`demo ${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await call('POST', '/v1/teams', {
    teamId: 'clearance',
    name: '清欠小组 (clearance team)',
    leaderId: 'demo-supervisor',
    region: 'Beijing',
  });
  await call('POST', '/v1/people', { personId: 'collector-1', name: '张催收', role: 'collector', teamId: 'clearance' });
  await call('POST', '/v1/people', { personId: 'collector-2', name: '周催收', role: 'collector', teamId: 'clearance' });
  await call('POST', '/v1/people', { personId: 'demo-supervisor', name: '刘组长', role: 'supervisor', teamId: 'clearance' });
  const { rules } = (await call('GET', '/v1/assignment-rules')) as { rules: Array<{ teamId: string }> };
  if (!rules.some((r) => r.teamId === 'clearance')) await call('POST', '/v1/assignment-rules', { priority: 100, teamId: 'clearance' });
}

export async function seedDemoPortfolio(apiUrl: string, adminKey: string): Promise<string[]> {
  await seedDemoTeam(apiUrl, adminKey);
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
        // No collector named: the rules route each case to the clearance team's least loaded collector.
        creditGrade: a.creditGrade,
        segment: a.segment,
      }),
    });
    if (res.status !== 202) throw new Error(`seeding ${a.accountId}: ${res.status} ${await res.text()}`);
  }
  return ACCOUNTS.map((a) => a.accountId);
}

/**
 * Treatments worth looking at (issue 12): ML-2026-0004 on a restructuring plan (three monthly
 * instalments, reviewed by finance and legal, approved by a manager), ML-2026-0003 offering an asset
 * in kind, ML-2026-0002 with a recommendation from the funds a call observed. Each only once: a
 * restarted demo finds them done.
 */
export async function seedDemoTreatments(apiUrl: string, keys: Record<Role, string>): Promise<string[]> {
  const call = async (method: 'GET' | 'POST', path: string, key: string, body?: unknown) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`demo ${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const done: string[] = [];
  const plan = await call('GET', '/v1/cases/ML-2026-0004', keys.supervisor);
  if (!plan.plans && plan.stage === 'open') {
    const owed = plan.outstandingMinor as number;
    const today = localDate(Date.now(), 'Asia/Shanghai');
    const third = Math.floor(owed / 3);
    await call('POST', '/v1/cases/ML-2026-0004/plans', keys.collector, {
      instalments: [15, 45, 75].map((d, i) => ({ dueDate: addDays(today, d), amountMinor: i < 2 ? third : owed - 2 * third })),
      penalty: { mode: 'frozen' },
      security: { kind: 'collateral', description: '餐馆厨房设备抵押 (kitchen equipment)', valueMinor: 900_000 },
      note: 'business recovering after renovation',
    });
    await call('POST', '/v1/cases/ML-2026-0004/plans/decisions', keys.finance, { decision: 'approve' });
    await call('POST', '/v1/cases/ML-2026-0004/plans/decisions', keys.legal, { decision: 'approve', note: 'collateral registered' });
    await call('POST', '/v1/cases/ML-2026-0004/plans/decisions', keys.manager, { decision: 'approve' });
  }
  done.push('ML-2026-0004 restructured (plan 1)');
  const inKind = await call('GET', '/v1/cases/ML-2026-0003', keys.supervisor);
  if (!inKind.inKind && inKind.stage === 'open') {
    await call('POST', '/v1/cases/ML-2026-0003/situation', keys.collector, { funds: 'short-poorly-run' });
    await call('POST', '/v1/cases/ML-2026-0003/in-kind', keys.collector, {
      step: 'offered',
      asset: '仓库存货：化肥 40 吨 (40 t of fertiliser)',
    });
  }
  done.push('ML-2026-0003 settling in kind (asset offered)');
  const situation = await call('GET', '/v1/cases/ML-2026-0002', keys.supervisor);
  if (!(situation.situation as { funds?: string } | undefined)?.funds && situation.stage === 'open') {
    await call('POST', '/v1/cases/ML-2026-0002/situation', keys.collector, { funds: 'short-prospects' });
  }
  done.push('ML-2026-0002 recommended: restructure');
  return done;
}

/**
 * A champion/challenger experiment worth reading (issue 16): docs/examples/micro-loan-call-first.v1.yaml
 * published, and 20 % of the micro-loan segment's new cases (the history's, dev/history.ts) sent to it.
 * Once: a restarted demo finds both (200 and 409).
 */
export async function seedDemoExperiment(apiUrl: string, adminKey: string): Promise<string> {
  const file = path.join(PROJECT_ROOT, 'docs/examples/micro-loan-call-first.v1.yaml');
  const published = await fetch(`${apiUrl}/v1/playbooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/yaml', authorization: `Bearer ${adminKey}` },
    body: readFileSync(file, 'utf8'),
  });
  if (published.status !== 201 && published.status !== 200)
    throw new Error(`publishing ${file}: ${published.status} ${await published.text()}`);
  const experimentId = 'demo-call-first';
  const started = await fetch(`${apiUrl}/v1/experiments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({
      experimentId,
      name: 'Calls before the first visit (micro-loan segment)',
      championPlaybookId: 'micro-loan-default',
      challengerPlaybookId: 'micro-loan-call-first',
      challengerPercent: 20,
      match: { segmentIn: ['micro-loan'] },
    }),
  });
  if (started.status !== 201 && started.status !== 409)
    throw new Error(`starting ${experimentId}: ${started.status} ${await started.text()}`);
  return experimentId;
}
