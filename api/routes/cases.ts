import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are on the default export
import { z } from 'zod';
import {
  type Approver,
  ContactDetailsBody,
  ContactOutcome,
  Dispute,
  GuarantorResponse,
  Hold,
  LegalEvent,
  PromiseToPay,
  SetTreatment,
  VisitReportInput,
  WriteOff,
} from '../../shared/case';
import { accountIdFromWorkflowId } from '../../shared/ids';
import { CASE_STAGES } from '../../shared/stages';
import {
  approveLegalReferralUpdate,
  approveUpdate,
  approveVisitUpdate,
  caseStateQuery,
  contactOutcomeSignal,
  disputeUpdate,
  guarantorResponseSignal,
  holdUpdate,
  recordLegalEventUpdate,
  recordPromiseUpdate,
  recordVisitReportUpdate,
  resolveDisputeUpdate,
  resumeUpdate,
  setTreatmentUpdate,
  updateContactDetailsUpdate,
  writeOffUpdate,
} from '../../shared/messages';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';
import { AccountParams, actingRole, caseMessaging } from './case-actions';

const Stage = z.enum(CASE_STAGES);

const CaseViewSchema = z
  .object({
    accountId: z.string(),
    caseKey: z.string(),
    stage: Stage,
    currency: z.string(),
    daysOverdue: z.number().int(),
    outstandingMinor: z.number().int(),
    balance: z.object({ principalMinor: z.number().int(), penaltyMinor: z.number().int(), feesMinor: z.number().int() }),
    nextAction: z.object({ stepId: z.string(), action: z.string(), day: z.number().int(), dueAt: z.string() }).optional(),
    promises: z.array(z.object({ id: z.number().int(), date: z.string(), amountMinor: z.number().int(), status: z.string() })),
    guarantors: z.array(z.object({ id: z.string(), name: z.string(), status: z.string() })),
    timeline: z.array(z.object({ at: z.string(), day: z.number().int(), what: z.string(), outcome: z.string() })),
  })
  .loose();

const ListQuery = z
  .object({
    stage: Stage.optional(),
    minDaysOverdue: z.coerce.number().int().min(0).max(100_000).optional(),
    collectorId: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
    pageSize: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,2000}$/)
      .optional(),
  })
  .strict();
const CaseListItem = z.object({
  accountId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  status: z.string(),
  stage: z.string().optional(),
  daysOverdue: z.number().int().optional(),
  outstandingMinor: z.number().int().optional(),
  collectorId: z.string().optional(),
  startedAt: z.string().optional(),
});
const CaseList = z.object({ cases: z.array(CaseListItem), nextPageToken: z.string().optional() });

/** The list's executions carry their status as the proto enum's number: RUNNING is 1. */
const ExecutionStatus = proto.temporal.api.enums.v1.WorkflowExecutionStatus;
const statusName = (s: number | null | undefined) =>
  (s == null ? '' : (ExecutionStatus[s] ?? '')).replace('WORKFLOW_EXECUTION_STATUS_', '').toLowerCase() || 'unknown';

const HistoryEntry = z.object({ at: z.string(), actor: z.string(), action: z.string(), detail: z.record(z.string(), z.unknown()) });
/** Like every other action body, a legal event with a key it does not know is refused, not stripped. */
const [Filed, AssetsFrozen, MediatedSettlement, Judgment, LegalClosed] = LegalEvent.options;
const LegalEventBody = z.discriminatedUnion('kind', [
  Filed.strict(),
  AssetsFrozen.strict(),
  MediatedSettlement.strict(),
  Judgment.strict(),
  LegalClosed.strict(),
]);
const Approval = z.object({ kind: z.enum(['treatment', 'legal-referral', 'visit']) }).strict();

const STAFF = ['collector', 'field-officer', 'supervisor', 'legal', 'manager', 'finance'] as const;

const DAY_MS = 86_400_000;

export function caseRoutes(d: ApiDeps) {
  const { handle, update, action, signal } = caseMessaging(d);
  const ok = (r: unknown) => ({ status: 200, body: r });
  const Empty = z.object({}).strict();

  return [
    route({
      method: 'get',
      path: '/v1/cases/:accountId',
      tag: 'cases',
      summary: 'The case as the workflow sees it now (caseState query): stage, balance, days overdue, next action, timeline',
      access: { roles: STAFF },
      params: AccountParams,
      responses: { 200: { description: 'The case', schema: CaseViewSchema }, 404: { description: 'No case for the account' } },
      handler: async ({ params }) => ok(await handle(params.accountId).query(caseStateQuery, (d.now ?? Date.now)())),
    }),

    route({
      method: 'get',
      path: '/v1/cases',
      tag: 'cases',
      summary: 'Cases by stage, days overdue and collector (a Temporal visibility query), a page at a time',
      access: { roles: ['supervisor', 'legal'] },
      query: ListQuery,
      responses: { 200: { description: 'A page of cases', schema: CaseList }, 400: { description: 'Invalid filter' } },
      async handler({ query }) {
        // Every value is validated above (enum, integer, [\w.-]), so it can be put in the query text.
        const clauses = [`WorkflowType = 'collectionCase'`];
        if (query.stage) clauses.push(`CaseStage = '${query.stage}'`);
        if (query.minDaysOverdue) {
          // OverdueSince is day 1 of the days past due; cases from before it (no OverdueSince) kept DaysOverdue current daily.
          const since = new Date((d.now ?? Date.now)() - (query.minDaysOverdue - 1) * DAY_MS).toISOString();
          clauses.push(`(OverdueSince <= '${since}' OR (OverdueSince IS NULL AND DaysOverdue >= ${query.minDaysOverdue}))`);
        }
        if (query.collectorId) clauses.push(`CollectorId = '${query.collectorId}'`);
        const list = (nextPageToken?: Buffer) =>
          d.client.workflowService.listWorkflowExecutions({
            namespace: d.client.options.namespace,
            query: clauses.join(' AND '),
            pageSize: query.pageSize,
            ...(nextPageToken ? { nextPageToken } : {}),
          });
        const r = query.pageToken ? await listWithClientToken(d, list, query.pageToken) : await list();
        const sa = (e: (typeof r.executions)[number], name: string) => {
          const p = e.searchAttributes?.indexedFields?.[name];
          return p ? (defaultPayloadConverter.fromPayload(p as never) as unknown) : undefined;
        };
        const cases = (r.executions ?? []).map((e) => {
          const workflowId = e.execution?.workflowId ?? '';
          const stage = sa(e, 'CaseStage');
          const since = sa(e, 'OverdueSince');
          const days =
            typeof since === 'string' ? Math.floor(((d.now ?? Date.now)() - Date.parse(since)) / DAY_MS) + 1 : sa(e, 'DaysOverdue');
          const outstanding = sa(e, 'OutstandingMinor');
          const collector = sa(e, 'CollectorId');
          const startSeconds = e.startTime?.seconds;
          return {
            accountId: accountIdFromWorkflowId(workflowId),
            workflowId,
            runId: e.execution?.runId ?? '',
            status: statusName(e.status),
            ...(typeof stage === 'string' ? { stage } : {}),
            ...(typeof days === 'number' ? { daysOverdue: days } : {}),
            ...(typeof outstanding === 'number' ? { outstandingMinor: outstanding } : {}),
            ...(typeof collector === 'string' ? { collectorId: collector } : {}),
            ...(startSeconds != null ? { startedAt: new Date(Number(startSeconds) * 1000).toISOString() } : {}),
          };
        });
        const token = r.nextPageToken && r.nextPageToken.length > 0 ? Buffer.from(r.nextPageToken).toString('base64url') : undefined;
        return ok({ cases, ...(token ? { nextPageToken: token } : {}) });
      },
    }),

    route({
      method: 'get',
      path: '/v1/cases/:accountId/history',
      tag: 'cases',
      summary: "The account's timeline from the ledger (audit log): every step, payment, contact and decision, oldest first",
      access: { roles: ['collector', 'supervisor', 'legal'] },
      params: AccountParams,
      responses: {
        200: { description: 'The timeline', schema: z.object({ accountId: z.string(), entries: z.array(HistoryEntry) }) },
        404: { description: 'Unknown account' },
      },
      async handler({ params }) {
        const rows = await d.sql<{ at: Date; actor: string; action: string; detail: Record<string, unknown> }[]>`
          select at, actor, action, detail from audit_log where account_id = ${params.accountId} order by at, id limit 5000`;
        if (rows.length === 0) throw new HttpProblem(404, 'Not found', `no ledger history for account ${params.accountId}`);
        return ok({ accountId: params.accountId, entries: rows.map((r) => ({ ...r, at: r.at.toISOString() })) });
      },
    }),

    action({
      name: 'promises',
      answers: 201,
      summary: 'A promise to pay: escalation pauses until its date plus grace',
      roles: ['collector', 'supervisor'],
      body: PromiseToPay.strict(),
      run: async (a, b) => ({ status: 201, body: await update(recordPromiseUpdate, a, [b]) }),
    }),
    action({
      name: 'contact-outcomes',
      answers: 202,
      summary: "A collector's report of a contact (reason 6 asks for legal review)",
      roles: ['collector', 'field-officer', 'supervisor'],
      body: ContactOutcome.omit({ actor: true }).strict(),
      run: (a, b, p) => signal(a, contactOutcomeSignal, { ...b, actor: p.subject }),
    }),
    action({
      name: 'visit-reports',
      answers: 200,
      roles: ['field-officer', 'supervisor'],
      summary: "A field officer's report of the last visit; a written promise (date, amount) is a promise to pay, refused like one",
      body: VisitReportInput.omit({ officerId: true }).strict(),
      run: async (a, b, p) => ok(await update(recordVisitReportUpdate, a, [{ ...b, officerId: p.subject }])),
    }),
    action({
      name: 'contact-details',
      answers: 200,
      roles: ['collector', 'supervisor', 'admin'],
      summary:
        'New or corrected phones, email or address of the debtor or a guarantor (audited); ' +
        'a letter that failed for want of an address catches up',
      body: ContactDetailsBody,
      run: async (a, b, p) => ok(await update(updateContactDetailsUpdate, a, [{ ...b, by: p.subject }])),
    }),
    action({
      name: 'guarantor-responses',
      answers: 202,
      summary: "The guarantor's answer to the demand",
      roles: ['collector', 'supervisor'],
      body: GuarantorResponse.strict(),
      run: (a, b) => signal(a, guarantorResponseSignal, b),
    }),
    action({
      name: 'disputes',
      answers: 200,
      summary: 'The debtor disputes the debt: no contact until resolved',
      roles: ['collector', 'supervisor', 'legal'],
      body: Dispute.strict(),
      run: async (a, b) => ok(await update(disputeUpdate, a, [b])),
    }),
    action({
      name: 'disputes/resolve',
      answers: 200,
      summary: 'The dispute is resolved: contact may resume',
      roles: ['supervisor', 'legal'],
      body: Empty,
      run: async (a) => ok(await update(resolveDisputeUpdate, a, [])),
    }),
    action({
      name: 'holds',
      answers: 200,
      summary: 'Hold contact, until a time or until resumed',
      roles: ['supervisor'],
      body: Hold.strict(),
      run: async (a, b) => ok(await update(holdUpdate, a, [b])),
    }),
    action({
      name: 'resume',
      answers: 200,
      summary: 'Lift a hold',
      roles: ['supervisor'],
      body: Empty,
      run: async (a) => ok(await update(resumeUpdate, a, [])),
    }),
    action({
      name: 'treatment',
      answers: 200,
      summary:
        'Set the treatment (collect, restructure, settle-in-kind, litigate): accepts or overrides the case’s recommendation ' +
        '(no approval: a plan and a settlement in kind carry their own)',
      roles: ['supervisor', 'manager'],
      body: SetTreatment.omit({ by: true }).strict(),
      run: async (a, b, p) => ok(await update(setTreatmentUpdate, a, [{ ...b, by: p.subject }])),
    }),
    action({
      name: 'approvals',
      answers: 200,
      summary: 'Approve what waits for approval: the legal referral, or a field visit (a treatment, in cases from before plans)',
      roles: ['supervisor', 'legal', 'manager'],
      body: Approval,
      run: async (a, b, p) => {
        // The route admits supervisor, legal and manager keys (and admins, as managers).
        const approver = { by: p.subject, role: actingRole(p) as Approver['role'] };
        const def = b.kind === 'treatment' ? approveUpdate : b.kind === 'legal-referral' ? approveLegalReferralUpdate : approveVisitUpdate;
        return ok(await update(def, a, [approver] as [typeof approver]));
      },
    }),
    action({
      name: 'legal-events',
      answers: 200,
      summary: 'A legal event: filed, assets frozen, mediated settlement, judgment, closed',
      roles: ['legal'],
      body: LegalEventBody,
      run: async (a, b) => ok(await update(recordLegalEventUpdate, a, [b])),
    }),
    action({
      name: 'write-off',
      answers: 200,
      summary: 'Write the case off',
      roles: ['supervisor'],
      body: WriteOff.omit({ by: true }).strict(),
      run: async (a, b, p) => ok(await update(writeOffUpdate, a, [{ ...b, by: p.subject }])),
    }),
  ];
}

const badToken = () => new HttpProblem(400, 'Invalid page token', 'pageToken is not one this API issued, or it has expired');

/**
 * A page token comes back from the client, so Temporal may refuse it. It refuses a token it did not
 * issue with UNKNOWN, which the client retries for some 20 seconds before the API would answer 500:
 * a token that is not a JSON object (what visibility issues) is refused at once, and any other gets a
 * few seconds; a failure while Temporal otherwise answers is the token's fault (400).
 */
async function listWithClientToken<R>(d: ApiDeps, list: (token: Buffer) => Promise<R>, pageToken: string): Promise<R> {
  const token = Buffer.from(pageToken, 'base64url');
  let decoded: unknown;
  try {
    decoded = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(token));
  } catch {
    throw badToken();
  }
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) throw badToken();
  try {
    return await d.client.connection.withDeadline(Date.now() + 5_000, () => list(token));
  } catch (e) {
    const temporalAnswers = await d.client.connection
      .withDeadline(Date.now() + 2_000, () => d.client.workflowService.getSystemInfo({}))
      .then(
        () => true,
        () => false,
      );
    if (temporalAnswers) throw badToken();
    throw e;
  }
}
