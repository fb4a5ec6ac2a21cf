import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { auditAdmin } from '../../activities/audit';
import { experimentResults, resultsCsv } from '../../db/experiments';
import { findPlaybook } from '../../db/playbooks';
import { CaseMatch } from '../../shared/experiments';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';

const PlaybookId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'a playbook id');
const RuleBody = z
  .object({
    /** Lower is tried first. */
    priority: z.number().int().min(0).max(1_000_000),
    playbookId: PlaybookId,
    match: CaseMatch.default({}),
    description: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
const RuleParams = z.object({ ruleId: z.string().regex(/^pr-[0-9a-f]{12}$/, 'a rule id such as pr-0123456789ab') }).strict();
const RuleView = z.object({
  ruleId: z.string(),
  priority: z.number().int(),
  playbookId: z.string(),
  match: z.record(z.string(), z.unknown()),
  description: z.string().nullable(),
  enabled: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
});

const ExperimentBody = z
  .object({
    experimentId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes; at most 63'),
    name: z.string().trim().min(1).max(200),
    /** New cases that would start with this playbook (its latest version now) are split. */
    championPlaybookId: PlaybookId,
    challengerPlaybookId: PlaybookId,
    /** Default: the challenger's latest version now. */
    challengerVersion: z.number().int().positive().optional(),
    /** The share of matching new cases that go to the challenger, in percent (up to two decimals). */
    challengerPercent: z
      .number()
      .gt(0)
      .lt(100)
      .refine((p) => Number.isInteger(Math.round(p * 100)) && Math.abs(p * 100 - Math.round(p * 100)) < 1e-9, 'at most two decimals'),
    /** Narrows the split to these cases (as a playbook rule's match); the rest start with the champion outside the experiment. */
    match: CaseMatch.default({}),
  })
  .strict();
const ExperimentParams = z.object({ experimentId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'an experiment id') }).strict();
const ExperimentView = z.object({
  experimentId: z.string(),
  name: z.string(),
  champion: z.object({ playbookId: z.string(), version: z.number().int() }),
  challenger: z.object({ playbookId: z.string(), version: z.number().int() }),
  challengerPercent: z.number(),
  match: z.record(z.string(), z.unknown()),
  status: z.enum(['running', 'ended']),
  createdBy: z.string(),
  startedAt: z.string(),
  endedBy: z.string().nullable(),
  endedAt: z.string().nullable(),
  /** Cases each arm has opened so far. */
  cases: z.object({ champion: z.number().int(), challenger: z.number().int() }),
});
const ResultsQuery = z
  .object({
    asOf: z.iso.datetime({ offset: true }).optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

/**
 * Which playbook a new case starts with: playbook rules and champion/challenger experiments (issue 16,
 * part 2; docs/experiments.md), and each experiment's results per arm (part 3). Admins set them; the
 * results are for the managers and supervisors who decide.
 */
export function experimentRoutes(d: ApiDeps) {
  const mustExist = async (id: string, version?: number) => {
    const found = await findPlaybook(d.sql, id, version);
    if (!found) throw new HttpProblem(422, 'Unknown playbook', `no playbook ${id}${version ? ` v${version}` : ''}, built in or published`);
    return found.playbook;
  };
  const ruleView = (r: Record<string, unknown>): z.infer<typeof RuleView> => ({
    ruleId: r.rule_id as string,
    priority: r.priority as number,
    playbookId: r.playbook_id as string,
    match: r.match as Record<string, unknown>,
    description: (r.description as string | null) ?? null,
    enabled: r.enabled as boolean,
    createdBy: r.created_by as string,
    createdAt: (r.created_at as Date).toISOString(),
  });
  const experimentView = async (experimentId: string): Promise<z.infer<typeof ExperimentView>> => {
    const [e] = await d.sql`
      select e.*,
        (select count(*)::int from experiment_cases x where x.experiment_id = e.experiment_id and x.arm = 'champion') as champions,
        (select count(*)::int from experiment_cases x where x.experiment_id = e.experiment_id and x.arm = 'challenger') as challengers
      from experiments e where experiment_id = ${experimentId}`;
    if (!e) throw new HttpProblem(404, 'Not found', `no experiment ${experimentId}`);
    return {
      experimentId: e.experiment_id,
      name: e.name,
      champion: { playbookId: e.champion_playbook_id, version: e.champion_version },
      challenger: { playbookId: e.challenger_playbook_id, version: e.challenger_version },
      challengerPercent: Number(e.challenger_percent),
      match: e.match,
      status: e.status,
      createdBy: e.created_by,
      startedAt: (e.started_at as Date).toISOString(),
      endedBy: e.ended_by ?? null,
      endedAt: e.ended_at ? (e.ended_at as Date).toISOString() : null,
      cases: { champion: e.champions, challenger: e.challengers },
    };
  };
  const admin = { roles: ['admin'] } as const;
  const readers = { roles: ['admin', 'manager', 'supervisor'] } as const;

  return [
    route({
      method: 'post',
      path: '/v1/playbook-rules',
      tag: 'playbooks',
      summary:
        'A playbook rule: the first enabled rule (lowest priority) whose conditions all hold chooses the playbook of a new case ' +
        '(segment, credit grade, product, balance band [from, to)); none: the default playbook',
      access: admin,
      body: RuleBody,
      responses: { 201: { description: 'The rule', schema: RuleView }, 422: { description: 'No such playbook' } },
      async handler({ body, principal }) {
        await mustExist(body.playbookId);
        const ruleId = `pr-${randomBytes(6).toString('hex')}`;
        const [r] = await d.sql`
          insert into playbook_rules (rule_id, priority, playbook_id, match, description, created_by)
          values (${ruleId}, ${body.priority}, ${body.playbookId}, ${d.sql.json(body.match as never)}, ${body.description ?? null},
                  ${principal!.subject})
          returning *`;
        await auditAdmin(d.sql, principal!.subject, 'playbook-rule-created', { ruleId, ...body });
        return { status: 201, body: ruleView(r!) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/playbook-rules',
      tag: 'playbooks',
      summary: 'The playbook rules, in the order they are tried (switched-off ones last)',
      access: readers,
      responses: { 200: { description: 'The rules', schema: z.object({ rules: z.array(RuleView) }) } },
      async handler() {
        const rows = await d.sql`select * from playbook_rules order by enabled desc, priority, rule_id`;
        return { status: 200, body: { rules: rows.map(ruleView) } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/playbook-rules/:ruleId/deactivate',
      tag: 'playbooks',
      summary: 'Switch a rule off: later cases are chosen without it (cases already open keep their playbook)',
      access: admin,
      params: RuleParams,
      body: z.object({}).strict(),
      responses: { 200: { description: 'Switched off', schema: RuleView }, 404: { description: 'No such rule' } },
      async handler({ params, principal }) {
        const [r] = await d.sql`update playbook_rules set enabled = false where rule_id = ${params.ruleId} returning *`;
        if (!r) throw new HttpProblem(404, 'Not found', `no playbook rule ${params.ruleId}`);
        await auditAdmin(d.sql, principal!.subject, 'playbook-rule-deactivated', { ruleId: params.ruleId });
        return { status: 200, body: ruleView(r) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/experiments',
      tag: 'playbooks',
      summary:
        'Start a champion/challenger experiment: a stable share of the new cases that would start with the champion ' +
        '(hash of the account id; recorded, so an account never flips) start with the challenger',
      access: admin,
      body: ExperimentBody,
      responses: {
        201: { description: 'Running', schema: ExperimentView },
        409: { description: 'The id is taken, or an experiment already runs on the champion' },
        422: { description: 'No such playbook, or the challenger is the champion' },
      },
      async handler({ body, principal }) {
        const champion = await mustExist(body.championPlaybookId);
        const challenger = await mustExist(body.challengerPlaybookId, body.challengerVersion);
        if (champion.id === challenger.id && champion.version === challenger.version) {
          throw new HttpProblem(422, 'Challenger is the champion', `${champion.id} v${champion.version} against itself tells nothing`);
        }
        const [taken] = await d.sql`
          select experiment_id, status, champion_playbook_id from experiments
          where experiment_id = ${body.experimentId} or (champion_playbook_id = ${champion.id} and status = 'running')`;
        if (taken) {
          throw new HttpProblem(
            409,
            'Conflict',
            taken.experiment_id === body.experimentId
              ? `experiment ${body.experimentId} exists (${taken.status})`
              : `experiment ${taken.experiment_id} already runs on ${champion.id}: end it first`,
          );
        }
        await d.sql`
          insert into experiments (experiment_id, name, champion_playbook_id, champion_version, challenger_playbook_id, challenger_version,
                                   challenger_percent, match, created_by)
          values (${body.experimentId}, ${body.name}, ${champion.id}, ${champion.version}, ${challenger.id}, ${challenger.version},
                  ${body.challengerPercent}, ${d.sql.json(body.match as never)}, ${principal!.subject})`;
        await auditAdmin(d.sql, principal!.subject, 'experiment-started', {
          ...body,
          championVersion: champion.version,
          challengerVersion: challenger.version,
        });
        return { status: 201, body: await experimentView(body.experimentId) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/experiments',
      tag: 'playbooks',
      summary: 'Every experiment, running ones first',
      access: readers,
      responses: { 200: { description: 'Experiments', schema: z.object({ experiments: z.array(ExperimentView) }) } },
      async handler() {
        const ids = await d.sql<{ experiment_id: string }[]>`
          select experiment_id from experiments order by status = 'running' desc, started_at desc`;
        return { status: 200, body: { experiments: await Promise.all(ids.map((e) => experimentView(e.experiment_id))) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/experiments/:experimentId',
      tag: 'playbooks',
      summary: 'An experiment',
      access: readers,
      params: ExperimentParams,
      responses: { 200: { description: 'The experiment', schema: ExperimentView }, 404: { description: 'No such experiment' } },
      async handler({ params }) {
        return { status: 200, body: await experimentView(params.experimentId) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/experiments/:experimentId/end',
      tag: 'playbooks',
      summary: 'End an experiment: new cases start with the champion again; the cases it opened keep their playbook',
      access: admin,
      params: ExperimentParams,
      body: z.object({}).strict(),
      responses: { 200: { description: 'Ended', schema: ExperimentView }, 404: { description: 'No such experiment' } },
      async handler({ params, principal }) {
        const [e] = await d.sql`
          update experiments set status = 'ended', ended_by = ${principal!.subject}, ended_at = now()
          where experiment_id = ${params.experimentId} and status = 'running' returning experiment_id`;
        if (!e)
          await experimentView(params.experimentId); // 404 when there is none; an ended one is answered as it is
        else await auditAdmin(d.sql, principal!.subject, 'experiment-ended', { experimentId: params.experimentId });
        return { status: 200, body: await experimentView(params.experimentId) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/experiments/:experimentId/results',
      tag: 'playbooks',
      summary:
        'Results per arm (docs/experiments.md): cases, recovery rate at day 7/30/60/90, cost per unit recovered, promises, ' +
        'refusals and disputes, median days to close; the recovery difference with its 95 % confidence interval. JSON or CSV',
      access: readers,
      params: ExperimentParams,
      query: ResultsQuery,
      responses: {
        200: { description: 'The results', schema: z.record(z.string(), z.unknown()) },
        404: { description: 'No such experiment' },
        422: { description: 'asOf in the future' },
      },
      async handler({ params, query }) {
        const experiment = await experimentView(params.experimentId);
        const now = (d.now ?? Date.now)();
        if (query.asOf && Date.parse(query.asOf) > now) {
          throw new HttpProblem(422, 'asOf in the future', `results are of what has happened: asOf ${query.asOf} is after now`);
        }
        const r = await experimentResults(d.sql, params.experimentId, query.asOf ? new Date(query.asOf) : new Date(now));
        if (query.format === 'csv') return { status: 200, body: resultsCsv(r), contentType: 'text/csv; charset=utf-8' };
        return { status: 200, body: { experiment, ...r } };
      },
    }),
  ];
}
