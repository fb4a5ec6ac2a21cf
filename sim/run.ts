import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { toolPaths } from '../dev/tools';
import { addDays, daysBetween, instantOf, localDate } from '../shared/calendar';
import { CASE_GENERATION, type CaseInput } from '../shared/case';
import { missedPaymentSignal } from '../shared/messages';
import type { Playbook, ReasonCategory } from '../shared/playbook';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { workflowRuntime } from '../worker/worker';
import { reasonMixFor, traitsFor, type Behaviour } from './behaviour';
import { selfCure, selfCureDay, type Subject } from './decisions';
import type { SimAccount } from './portfolio';
import { draw, pick } from './random';
import { SimWorld, type CaseBook } from './world';

/** One playbook the portfolio runs under (A, B): a whole playbook, or each account's own built-in one. */
export interface Variant {
  label: string;
  playbookFor(account: SimAccount): Playbook;
}

/** How the simulation's worker is sized (docs/simulation.md, "Speed"). */
export interface Sizing {
  /** Cases kept in the worker's cache: every case of the run, so none replays its history. */
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentLocalActivityExecutions: number;
  workflowThreads: number;
  /** Old-generation heap of each workflow thread, MiB: the cached cases must fit (about 0.5 MiB each). */
  workflowHeapMb: number;
  /** Cases started, and cases sent their deliveries, at once. */
  concurrency: number;
}

const DEFAULT_SIZING: Sizing = {
  maxCachedWorkflows: 2_500,
  maxConcurrentWorkflowTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 400,
  workflowThreads: 2,
  workflowHeapMb: 1_536,
  concurrency: 64,
};

export interface SimulationInput {
  accounts: SimAccount[];
  variants: Variant[];
  behaviour: Behaviour;
  seed: number;
  days: number;
  /** Progress lines (stderr in the CLI): never part of the report. */
  progress?: (line: string) => void;
  sizing?: Partial<Sizing>;
}

export interface SimulationRun {
  /** Every case's book, in variant then account order. */
  books: CaseBook[];
  /** The simulation's day 0 on the test server's calendar, and how far the file's dates were moved to reach it. */
  start: string;
  shiftDays: number;
  wallMs: number;
}

const CASES_QUEUE = 'sim-cases';
/** 28 Gregorian years (between 1901 and 2099): the calendar repeats, weekdays and leap days alike. */
const CYCLE_DAYS = 28 * 365 + 7;
/** Each case opens at this local time of the simulation's day 0, before any window. */
const OPEN_AT = '00:30';

/**
 * Runs every account of the portfolio under each variant's playbook on the Temporal time-skipping test
 * server: the real case workflow (the production bundle, as bench/ladder.ts runs it) with activities
 * that record in memory (sim/world.ts). This process drives the clock: it lets the server skip to the
 * next moment at which people may act (reactAt, approveAt, a visit's approval, in each debtor's zone),
 * sends what the debtors, guarantors and the operations team do then, and skips on.
 */
export async function runSimulation(input: SimulationInput): Promise<SimulationRun> {
  checkTiming(input.behaviour.reactAt, [...new Set(input.variants.flatMap((v) => input.accounts.map((a) => v.playbookFor(a))))]);
  const sizing = { ...DEFAULT_SIZING, ...input.sizing };
  const progress = input.progress ?? (() => undefined);
  quietRuntime();
  const wall0 = Date.now();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPaths().testServer } },
  });
  try {
    await ensureSearchAttributes(env.connection, 'default');
    const client = new Client({ connection: env.connection });
    const world = new SimWorld(client, input.behaviour);

    // Day 0 is the day after the latest due date. The time-skipping server starts at today and only goes
    // forward: a file whose day 0 has passed is moved by whole 28-year cycles (weekdays, leap days and
    // daylight-saving dates repeat), so the simulated calendar, and the report, do not depend on the day of the run.
    const latestDue = input.accounts.reduce(
      (m, a) => (a.instalments.at(-1)!.dueDate > m ? a.instalments.at(-1)!.dueDate : m),
      '0000-00-00',
    );
    const fileStart = addDays(latestDue, 1);
    const earliest = addDays(localDate(await env.currentTimeMs(), 'UTC'), 2);
    const shiftDays = CYCLE_DAYS * Math.max(0, Math.ceil(daysBetween(fileStart, earliest) / CYCLE_DAYS));
    const start = addDays(fileStart, shiftDays);

    const books = input.variants.flatMap((variant, v) =>
      input.accounts.map((account) => bookOf(input, variant, v, account, start, shiftDays)),
    );
    for (const b of books) world.add(b);

    progress(
      `simulating ${input.accounts.length} accounts × ${input.variants.length} playbook(s) for ${input.days} days ` +
        `(day 0 = ${start} on the test server's calendar; the file's dates moved ${(28 * shiftDays) / CYCLE_DAYS} years)`,
    );
    const { workflowBundle, workflowThreadPoolSize } = await workflowRuntime(undefined, {
      cachedBundle: true,
      workflowThreads: sizing.workflowThreads,
      workflowHeapMb: sizing.workflowHeapMb,
      stackTraces: false,
    });
    const caseWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: CASES_QUEUE,
      workflowBundle,
      workflowThreadPoolSize,
      activities: world.caseActivities(),
      maxCachedWorkflows: sizing.maxCachedWorkflows,
      maxConcurrentWorkflowTaskExecutions: sizing.maxConcurrentWorkflowTaskExecutions,
      maxConcurrentLocalActivityExecutions: sizing.maxConcurrentLocalActivityExecutions,
      maxConcurrentActivityTaskExecutions: sizing.maxConcurrentLocalActivityExecutions,
    });
    progress(`test server and worker ready in ${elapsed(wall0)}`);
    const running = caseWorker.run();
    // A worker that stops by itself (a workflow thread out of memory) ends the simulation with its error.
    const failed = running.then(() => {
      throw new Error('the simulation worker stopped before the end');
    });
    const orFail = <T>(p: Promise<T>) => Promise.race([p, failed]);
    try {
      // Each case opens at 00:30 on day 0 in its debtor's zone: zones in the order their day 0 begins.
      const groups = new Map<number, CaseBook[]>();
      for (const b of books) {
        const at = instantOf(start, OPEN_AT, b.subject.timeZone);
        groups.set(at, [...(groups.get(at) ?? []), b]);
      }
      for (const [at, group] of [...groups.entries()].sort(([a], [b]) => a - b)) {
        const now = await env.currentTimeMs();
        if (at > now) await orFail(env.sleep(at - now));
        await orFail(inBatches(group, sizing.concurrency, (b) => openCase(client, world, b, shiftDays, input.days)));
      }
      progress(`${books.length} cases opened in ${elapsed(wall0)}`);

      // The clock, slot by slot: skip to the next moment people may act, send what is due, and on.
      const end = Math.max(...books.map((b) => b.horizon));
      const slots = slotsOf(input, books, start);
      let i = 0;
      let told = Date.now();
      for (;;) {
        const now = await env.currentTimeMs();
        while (i < slots.length && slots[i]! <= now) i++;
        const target = Math.min(slots[i] ?? Infinity, world.nextDelivery() ?? Infinity, end);
        if (target > now) await orFail(env.sleep(target - now));
        if (target >= end) break;
        await orFail(world.deliverDue(target, sizing.concurrency));
        if (Date.now() - told >= 10_000) {
          told = Date.now();
          progress(
            `simulated day ${daysBetween(start, localDate(target, books[0]!.subject.timeZone))} of ${input.days}, wall ${elapsed(wall0)}`,
          );
        }
      }
    } finally {
      caseWorker.shutdown();
      await running.catch(() => undefined);
    }
    progress(`done in ${elapsed(wall0)}`);
    return { books, start, shiftDays, wallMs: Date.now() - wall0 };
  } finally {
    await env.teardown();
  }
}

/** Letters run as activities (not local ones): the steps whose window reactAt must stay out of. */
const LETTER_ACTIONS = new Set(['overdue-notice', 'guarantor-demand', 'statement-of-account', 'legal-referral']);

/**
 * Payments arrive at reactAt; a letter must not be running then. A payment that ends the case cancels the
 * letter's activity in flight, and the time-skipping test server then keeps its clock locked for good: the
 * simulation would stall (docs/simulation.md, "Timing"). So reactAt may not fall in a letter step's window.
 */
export function checkTiming(reactAt: string, playbooks: Playbook[]): void {
  for (const pb of playbooks) {
    for (const step of pb.steps) {
      if (LETTER_ACTIONS.has(step.action) && reactAt >= step.window.from && reactAt < step.window.to) {
        throw new Error(
          `the behaviour model's reactAt ${reactAt} falls in the window ${step.window.from}–${step.window.to} of ` +
            `${pb.id} v${pb.version}'s letter step ${step.id}: ` +
            `choose a reactAt outside every letter's window (docs/simulation.md, "Timing")`,
        );
      }
    }
  }
}

function bookOf(input: SimulationInput, variant: Variant, v: number, account: SimAccount, start: string, shiftDays: number): CaseBook {
  const tz = account.debtor.timeZone;
  const reason = Number(
    pick(reasonMixFor(input.behaviour, account.segment), draw(input.seed, account.accountId, 'reason')),
  ) as ReasonCategory;
  const subject: Subject = {
    seed: input.seed,
    accountId: account.accountId,
    traits: traitsFor(input.behaviour, account.segment, reason),
    reason,
    timeZone: tz,
    reactAt: input.behaviour.reactAt,
  };
  return {
    variant: v,
    account,
    playbook: variant.playbookFor(account),
    caseWorkflowId: `Sim${v + 1}:Case:${account.accountId}`,
    subject,
    queue: [],
    ended: false,
    start,
    horizon: instantOf(addDays(start, input.days + 1), '00:00', tz),
    openingMinor: account.instalments.reduce((s, m) => s + m.amountMinor, 0),
    shiftDays,
    payments: [],
    actions: [],
    reached: [],
    costs: [],
    refusals: [],
    contactLog: [],
    promises: new Map(),
    rejected: [],
    reminders: [],
    failures: [],
    guarantorAnswers: [],
    seen: new Set(),
    done: new Map(),
    drawKeys: new Map(),
    contactsOn: new Map(),
  };
}

/** Opens the case as intake would (its oldest instalment starts it, the others join it), and the debtor's unprompted payment. */
async function openCase(client: Client, world: SimWorld, b: CaseBook, shiftDays: number, days: number): Promise<void> {
  const a = b.account;
  const [first, ...later] = a.instalments.map((m) => ({ ...m, dueDate: addDays(m.dueDate, shiftDays) }));
  const input: CaseInput = {
    generation: CASE_GENERATION,
    accountId: a.accountId,
    debtor: a.debtor,
    guarantors: a.guarantors,
    currency: a.currency,
    firstMissed: first!,
    ...(a.collectorId ? { collectorId: a.collectorId } : {}),
    ...(a.creditGrade || a.segment
      ? { situation: { ...(a.creditGrade ? { creditGrade: a.creditGrade as 'A' } : {}), ...(a.segment ? { segment: a.segment } : {}) } }
      : {}),
    playbook: b.playbook,
  };
  const handle = await client.workflow.start('collectionCase', { taskQueue: CASES_QUEUE, workflowId: b.caseWorkflowId, args: [input] });
  for (const m of later) await handle.signal(missedPaymentSignal, m);
  const d = selfCureDay(b.subject, days);
  if (d !== undefined) world.send(b, [selfCure(b.subject, b.start, d)]);
}

/**
 * Every moment at which the simulation's people may act, in each debtor's zone, from the day before day 0
 * to the day after the last: reactAt and approveAt each day, and each visit approval (window opening plus
 * the minutes the behaviour model gives). Deliveries are only ever made for these moments.
 */
function slotsOf(input: SimulationInput, books: CaseBook[], start: string): number[] {
  const ops = input.behaviour.operations;
  const times = new Set<string>([input.behaviour.reactAt, ops.approveAt]);
  const approvals = new Set<string>();
  if (ops.approveVisitsAfterMinutes !== null)
    for (const b of books) for (const s of b.playbook.steps) if (s.action === 'field-visit' && s.approval) approvals.add(s.window.from);
  const out = new Set<number>();
  for (const tz of new Set(books.map((b) => b.subject.timeZone))) {
    for (let d = -1; d <= input.days + 1; d++) {
      const date = addDays(start, d);
      for (const t of times) out.add(instantOf(date, t, tz));
      for (const from of approvals) out.add(instantOf(date, from, tz) + ops.approveVisitsAfterMinutes! * 60_000);
    }
  }
  return [...out].sort((a, b) => a - b);
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, lane));
}

const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** The SDK's workers log every state change at INFO: a simulation wants only warnings (unless the runtime is already set up). */
function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // Installed already (a test's setup, or a second simulation in this process).
  }
}
