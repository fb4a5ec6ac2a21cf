// The pictures a supervisor opens (issue 14, part 4): the weekly report and today's portfolio as HTML pages with
// their charts, served by the API and opened in a real headless Chromium (Debian's `chromium`) with the API key
// as the Basic password; the report's stored PDFs (zh-CN, en) with their text. Screenshots are kept under .data/.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { extractText } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../dev/tools';
import { postJson, startStack, type Stack } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(PROJECT_ROOT, '.data', 'screenshots');
let s: Stack;
let browser: Browser | undefined;
let reportId: number;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  s = await startStack();
  // Something in every chart: an open case 10 days overdue, one paid this week, and this month's target.
  const k = `pages-${randomUUID().slice(0, 8)}`;
  for (const [c, since, outstanding] of [
    [`${k}-a`, '10 days', 500_000],
    [`${k}-b`, '40 days', 0],
  ] as const) {
    await s.sql`insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date, opening_minor,
                                   playbook_id, playbook_version, outstanding_minor, overdue_since, opened_at)
                values (${c}, ${c}, ${c}, ${c}, 'd', 'CNY', '2026-01-01', 500000, 'micro-loan-default', 2, ${outstanding},
                        now() - ${since}::interval, now() - ${since}::interval)`;
  }
  await s.sql`insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at, fees_minor,
                                    penalty_minor, principal_minor, excess_minor, outstanding_after_minor)
              values (${k}, ${k}, ${`${k}-b`}, ${`${k}-b`}, 500000, 'CNY', now() - interval '1 minute', 0, 0, 500000, 0, 0)`;
  const month = new Date().toLocaleDateString('en-CA', { timeZone: 'Asia/Shanghai' }).slice(0, 8) + '01';
  const target = await postJson(
    `${s.apiUrl}/v1/targets`,
    { periodKind: 'month', periodStart: month, scope: 'portfolio', currency: 'CNY', recoveryTargetMinor: 100_000_000 },
    s.keys.manager,
  );
  expect(target.status, JSON.stringify(target.body)).toBe(200);

  // A report of this week, started directly on this stack's task queue (the Schedule and its trigger are
  // weekly-report.test.ts's: one Schedule per cluster, bound to one task queue).
  const reportKey = `pages-report-${randomUUID().slice(0, 8)}`;
  await s.client.workflow.start('weeklyReport', {
    taskQueue: s.taskQueue,
    workflowId: reportKey,
    args: [{ timeZone: 'Asia/Shanghai', reminderHours: 24 }],
  });
  for (const deadline = Date.now() + 30_000; ;) {
    const [row] = await s.sql<{ id: string }[]>`select id from weekly_reports where report_key = ${reportKey} and pdf_en is not null`;
    if (row) {
      reportId = Number(row.id);
      break;
    }
    if (Date.now() > deadline) throw new Error('no weekly report 30 s after its start');
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

/** Opens a page as a browser does (Basic auth with the key), collecting console errors, page errors and failed requests. */
async function openPage(url: string, key: string, shot: string) {
  const page = await browser!.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.setViewport({ width: 1200, height: 1600 });
  await page.authenticate({ username: 'supervisor', password: key });
  try {
    const res = await page.goto(url, { waitUntil: 'networkidle0', timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
    const charts = await page.$$eval('svg[data-chart]', (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const values = [...svg.querySelectorAll('[data-value]')].map((e) => Number(e.getAttribute('data-value')));
        return { chart: svg.getAttribute('data-chart'), width: box.width, height: box.height, values };
      }),
    );
    return {
      status: res?.status(),
      csp: res?.headers()['content-security-policy'],
      text: await page.$eval('body', (b) => b.innerText),
      charts,
      problems,
    };
  } finally {
    await page.close();
  }
}

/** Every chart is drawn (a visible box) and has data (a bar above zero). */
function expectChartsWithData(charts: Array<{ chart: string | null; width: number; height: number; values: number[] }>) {
  expect(charts.map((c) => c.chart).sort()).toEqual(['aging', 'recovery', 'trend']);
  for (const c of charts) {
    expect(c.width, c.chart ?? '').toBeGreaterThan(100);
    expect(c.height, c.chart ?? '').toBeGreaterThan(50);
    expect(Math.max(0, ...c.values), `${c.chart} has data`).toBeGreaterThan(0);
  }
}

describe('the report pages in a headless Chromium', () => {
  it('the weekly report page: three charts with data, no console errors, in both languages', async () => {
    const zh = await openPage(`${s.apiUrl}/v1/reports/weekly/${reportId}.html`, s.keys.supervisor, 'weekly-report-zh.png');
    expect(zh.status).toBe(200);
    expect(zh.problems).toEqual([]);
    expect(zh.csp).toContain("default-src 'none'");
    expectChartsWithData(zh.charts);
    expect(zh.text).toContain('每周催收报告');
    const en = await openPage(`${s.apiUrl}/v1/reports/weekly/${reportId}.html?lang=en`, s.keys.manager, 'weekly-report-en.png');
    expect(en.problems).toEqual([]);
    expectChartsWithData(en.charts);
    expect(en.text).toContain('Weekly collection report');
    console.log(`[report-pages] screenshots in ${SHOTS}`);
  }, 60_000);

  it("today's portfolio page: three charts with data, no console errors", async () => {
    const p = await openPage(`${s.apiUrl}/v1/reports/portfolio.html?lang=en`, s.keys.finance, 'portfolio-en.png');
    expect(p.status).toBe(200);
    expect(p.problems).toEqual([]);
    expectChartsWithData(p.charts);
  }, 60_000);

  it('a browser without a key is asked for one; a collector is refused', async () => {
    const none = await fetch(`${s.apiUrl}/v1/reports/portfolio.html`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${key}`).toString('base64')}` });
    expect((await fetch(`${s.apiUrl}/v1/reports/portfolio.html`, { headers: basic(s.keys.collector) })).status).toBe(403);
    const wrong = await fetch(`${s.apiUrl}/v1/reports/portfolio.html`, { headers: basic('rk_wrong') });
    expect([wrong.status, wrong.headers.get('www-authenticate')?.startsWith('Basic')]).toEqual([401, true]);
    const format = await fetch(`${s.apiUrl}/v1/reports/weekly/${reportId}?format=pdf`);
    expect([format.status, format.headers.get('www-authenticate')?.startsWith('Basic')]).toEqual([401, true]);
    // The JSON API does not ask a browser for a password.
    expect((await fetch(`${s.apiUrl}/v1/reports/portfolio`)).headers.get('www-authenticate')).toBeNull();
  });

  it('the stored PDFs hold the totals and the Chinese headings; the CSV downloads', async () => {
    const get = (file: string, key = s.keys.finance) =>
      fetch(`${s.apiUrl}/v1/reports/weekly/${file}`, { headers: { authorization: `Bearer ${key}` } });
    const json = (await (await get(`${reportId}.json`)).json()) as { figures: { figures: { openCases: number } } };
    const zh = await get(`${reportId}.pdf`);
    expect(zh.status).toBe(200);
    expect(zh.headers.get('content-type')).toBe('application/pdf');
    const zhText = (await extractText(new Uint8Array(await zh.arrayBuffer()), { mergePages: true })).text;
    expect(zhText).toContain('每周催收报告');
    expect(zhText).toContain('账龄');
    expect(zhText).toContain(String(json.figures.figures.openCases));
    const en = await get(`${reportId}.pdf?lang=en`);
    const enText = (await extractText(new Uint8Array(await en.arrayBuffer()), { mergePages: true })).text;
    expect(enText).toContain('Weekly collection report');
    const csv = await get(`${reportId}.csv`);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="recoup-weekly-report-\d{4}-\d{2}-\d{2}-\d+\.csv"$/);
    expect((await get(`${reportId}.exe`)).status).toBe(400);
    expect((await get('999999999.pdf')).status).toBe(404);
  });
});
