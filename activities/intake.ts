import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Sql } from '../db/index';
import { addDays, instantOf, localDate } from '../shared/calendar';
import { CASE_GENERATION, type CaseInput } from '../shared/case';
import { caseWorkflowId } from '../shared/ids';
import type { MissedPaymentBody } from '../shared/intake';
import { registerMissedPaymentUpdate } from '../shared/messages';
import { choosePlaybook, playbookListsSql, recordExperimentCase, type PlaybookChoice, type PlaybookLists } from '../db/experiments';
import { findPlaybook, latestPublishedSql } from '../db/playbooks';
import {
  BrokenPromises,
  CaseStage,
  CollectorId,
  CreditGrade,
  Experiment,
  HasGuarantor,
  OutstandingMinor,
  OverdueSince,
  Playbook as PlaybookAttr,
  Segment,
  Treatment,
} from '../shared/search-attributes';

export interface IntakeDeps {
  client: Client;
  sql: Sql;
  /** The case workers' task queue. */
  taskQueue: string;
  now?: () => number;
}

/** Why a missed payment opened nothing: the API answers with `status`; an import row is `refused` with it. */
export class IntakeRefused extends Error {
  constructor(
    readonly status: 409 | 422,
    readonly title: string,
    readonly detail: string,
    readonly field: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'IntakeRefused';
  }
}

export interface Intaken {
  caseKey: string;
  /** A new case (or a new run of a closed one's account). */
  created: boolean;
  /** The ledger had the instalment already (in the open case, or a closed one): nothing happened. */
  unchanged?: boolean;
}

/**
 * A missed payment, as POST /v1/missed-payments and every row of an import take it: opens the account's
 * case, or adds the instalment to the open one. Idempotent on (accountId, dueDate): the case knows its
 * instalments, and an instalment of a closed case answers with that case.
 */
export async function openOrJoinCase(d: IntakeDeps, body: MissedPaymentBody): Promise<Intaken> {
  // An instalment is overdue once its due date has passed where the debtor lives: before that
  // there is nothing to collect (no case, no credit hold). The open case checks again in its own zone.
  const today = localDate((d.now ?? Date.now)(), body.debtor.timeZone);
  if (body.dueDate >= today) {
    throw new IntakeRefused(
      422,
      'Not overdue yet',
      `the instalment due ${body.dueDate} has not passed in ${body.debtor.timeZone} (today is ${today} there): ` +
        `it can be reported from ${addDays(body.dueDate, 1)}`,
      'dueDate',
      { dueDate: body.dueDate, today, timeZone: body.debtor.timeZone },
    );
  }
  const workflowId = caseWorkflowId(body.accountId);
  const missed = { dueDate: body.dueDate, amountMinor: body.amountDue.amountMinor, currency: body.amountDue.currency };
  // What intake looks up, in one round trip: the instalment in a case already, the debtor's blacklist
  // entries (this account, or another of their identity number), the playbook rules and experiments,
  // and the newest published version of each playbook.
  const [known] = await d.sql<
    (PlaybookLists & {
      prior: { case_key: string } | null;
      listed: { account_id: string; listed_at: string; stage: string; days_overdue: number }[];
      latest_published: Record<string, number>;
    })[]
  >`
    select
      (select json_build_object('case_key', i.case_key) from instalments i join cases c on c.case_key = i.case_key
       where i.account_id = ${body.accountId} and i.due_date = ${body.dueDate}
       order by c.closed_at is null desc limit 1) as prior,
      (select coalesce(json_agg(l order by l.listed_at), '[]') from
         (select b.account_id, b.listed_at, c.stage, b.days_overdue from blacklist b join cases c on c.case_key = b.case_key
          where b.delisted_at is null
            and (b.account_id = ${body.accountId}
                 or (${body.debtor.idNumber ?? null}::text is not null
                     and b.account_id in (select account_id from debtors where id_number = ${body.debtor.idNumber ?? null})))
          order by b.listed_at limit 20) l) as listed,
      ${playbookListsSql(d.sql)},
      ${latestPublishedSql(d.sql)}`;
  const { prior, listed } = known!;
  // An instalment already in a closed case is not a new delinquency: answer with that case. One the
  // ledger has in the open case is there already: nothing to tell the case.
  if (prior) return { caseKey: prior.case_key, created: false, unchanged: true };

  // The playbook: the one the lender names, else the rules' choice and a running experiment's arm.
  const choice: PlaybookChoice = body.playbookId
    ? { playbookId: body.playbookId }
    : await choosePlaybook(
        d.sql,
        {
          accountId: body.accountId,
          segment: body.segment,
          creditGrade: body.creditGrade,
          product: body.product,
          balanceMinor: missed.amountMinor,
        },
        known!,
      );
  const found = await findPlaybook(d.sql, choice.playbookId, choice.version, known!.latest_published);
  if (!found) {
    throw new IntakeRefused(
      422,
      'Unknown playbook',
      `no playbook ${choice.playbookId}${choice.version ? ` v${choice.version}` : ''}, built in or published`,
      'playbookId',
    );
  }
  const pb = found.playbook;
  const input: CaseInput = {
    generation: CASE_GENERATION,
    ...(listed.length > 0
      ? {
          blacklistedBefore: listed.map((b) => ({
            accountId: b.account_id,
            listedAt: new Date(b.listed_at).toISOString(),
            reason: `${b.stage} after ${b.days_overdue} days overdue`,
          })),
        }
      : {}),
    accountId: body.accountId,
    debtor: body.debtor,
    guarantors: body.guarantors,
    currency: missed.currency,
    firstMissed: missed,
    // A built-in playbook by id and version: the case's input (and every history) stays small, the worker
    // has it. A published one goes whole: a running case keeps the version it started with.
    ...(found.builtIn ? { playbookRef: { id: pb.id, version: pb.version } } : { playbook: pb }),
    ...(body.collectorId ? { collectorId: body.collectorId } : {}),
    ...(body.creditGrade || body.segment
      ? {
          situation: {
            ...(body.creditGrade ? { creditGrade: body.creditGrade } : {}),
            ...(body.segment ? { segment: body.segment } : {}),
          },
        }
      : {}),
  };
  const options = {
    workflowId,
    taskQueue: d.taskQueue,
    args: [input] as [CaseInput],
    staticSummary:
      `Collection case for account ${body.accountId} (${pb.id} v${pb.version}` +
      `${choice.experiment ? `, ${choice.experiment.experimentId} ${choice.experiment.arm}` : ''})`,
    typedSearchAttributes: [
      // As the case's first task would publish them (workflows/case/publication.ts), so that it need not: day 1
      // overdue starts at midnight after the due date in the debtor's zone; nothing paid, promised or treated yet.
      { key: CaseStage, value: 'open' },
      { key: OutstandingMinor, value: missed.amountMinor },
      { key: HasGuarantor, value: body.guarantors.length > 0 },
      { key: OverdueSince, value: new Date(instantOf(addDays(missed.dueDate, 1), '00:00', body.debtor.timeZone)) },
      { key: BrokenPromises, value: 0 },
      { key: Treatment, value: 'collect' },
      ...(body.collectorId ? [{ key: CollectorId, value: body.collectorId }] : []),
      ...(body.creditGrade ? [{ key: CreditGrade, value: body.creditGrade }] : []),
      ...(body.segment ? [{ key: Segment, value: body.segment }] : []),
      { key: PlaybookAttr, value: `${pb.id}@${pb.version}` },
      ...(choice.experiment ? [{ key: Experiment, value: `${choice.experiment.experimentId}:${choice.experiment.arm}` }] : []),
    ],
  };
  // A new case is a plain start, answered as soon as the server has it: the instalment is in the
  // case's input and nothing can refuse it, so the caller does not wait for the worker. (The case
  // writes its ledger rows on its first task; GET /v1/cases/:accountId waits for that.)
  try {
    const handle = await d.client.workflow.start('collectionCase', { ...options, workflowIdConflictPolicy: 'FAIL' });
    const caseKey = `${workflowId}/${handle.firstExecutionRunId}`;
    if (choice.experiment) {
      await recordExperimentCase(d.sql, {
        ...choice.experiment,
        caseKey,
        accountId: body.accountId,
        playbookId: pb.id,
        playbookVersion: pb.version,
      });
    }
    return { caseKey, created: true };
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
  }
  // An open case: the instalment joins it by an update, which the case may refuse. Update-with-start,
  // so that a case closing between the two calls is opened afresh rather than missed.
  const start = new WithStartWorkflowOperation('collectionCase', { ...options, workflowIdConflictPolicy: 'USE_EXISTING' });
  try {
    const r = await d.client.workflow.executeUpdateWithStart(registerMissedPaymentUpdate, {
      args: [missed],
      startWorkflowOperation: start,
    });
    return { caseKey: r.caseKey, created: r.created };
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError)
      throw new IntakeRefused(409, 'Conflict with the open case', e.cause?.message ?? e.message, 'amountDue');
    throw e;
  }
}
