import { z } from 'zod';
import { IsoDate, ReassignBody } from '../../shared/case';
import { reassignUpdate } from '../../shared/messages';
import { createApiKey, type Role } from '../auth';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';
import { caseMessaging } from './case-actions';

const Id = z.string().regex(/^[\w.-]{1,100}$/, 'letters, digits, dot, dash, underscore; at most 100');
const PERSON_ROLES = ['collector', 'field-officer', 'supervisor', 'manager', 'legal', 'finance'] as const;

const Team = z
  .object({
    teamId: Id,
    name: z.string().min(1).max(200),
    leaderId: Id.optional(),
    region: z.string().min(1).max(100).optional(),
    segments: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/))
      .max(50)
      .default([]),
  })
  .strict();
const Person = z
  .object({
    personId: Id,
    name: z.string().min(1).max(200),
    role: z.enum(PERSON_ROLES),
    teamId: Id.optional(),
    callsPerDay: z.number().int().min(0).max(1000).default(60),
    visitsPerDay: z.number().int().min(0).max(100).default(4),
    languages: z.array(z.string().min(2).max(10)).max(10).default([]),
    active: z.boolean().default(true),
  })
  .strict();
const RuleFields = z
  .object({
    priority: z.number().int().min(0).max(100_000),
    teamId: Id,
    region: z.string().min(1).max(100).optional(),
    segment: z.string().min(1).max(40).optional(),
    minBalanceMinor: z.number().int().nonnegative().optional(),
    maxBalanceMinor: z.number().int().nonnegative().optional(),
    minDaysOverdue: z.number().int().nonnegative().optional(),
    maxDaysOverdue: z.number().int().nonnegative().optional(),
    language: z.string().min(2).max(10).optional(),
  })
  .strict();
const Rule = RuleFields.refine(
  (r) => r.minBalanceMinor === undefined || r.maxBalanceMinor === undefined || r.minBalanceMinor <= r.maxBalanceMinor,
  {
    message: 'minBalanceMinor is above maxBalanceMinor',
    path: ['maxBalanceMinor'],
  },
).refine((r) => r.minDaysOverdue === undefined || r.maxDaysOverdue === undefined || r.minDaysOverdue <= r.maxDaysOverdue, {
  message: 'minDaysOverdue is above maxDaysOverdue',
  path: ['maxDaysOverdue'],
});
const TaskRow = z.object({
  taskId: z.number().int(),
  accountId: z.string(),
  teamId: z.string().nullable(),
  collectorId: z.string().nullable(),
  party: z.string(),
  dueAt: z.string(),
  outstandingMinor: z.number().int().nullable(),
});

/**
 * Teams, people, their working calendar and the assignment rules (admin); a supervisor's
 * reassignment of a case; the team's queue of unassigned calls and the assignment of one.
 */
export function teamRoutes(d: ApiDeps) {
  const { update, action } = caseMessaging(d);
  const ok = (body: unknown) => ({ status: 200, body });
  const isPerson = async (id: string) => (await d.sql`select 1 from people where person_id = ${id}`).length > 0;
  const notFound = async (table: 'teams' | 'people', id: string) => {
    const col = table === 'teams' ? 'team_id' : 'person_id';
    const [row] = await d.sql.unsafe(`select 1 from ${table} where ${col} = $1`, [id]);
    if (!row) throw new HttpProblem(404, 'Not found', `no ${table === 'teams' ? 'team' : 'person'} ${id}`);
  };

  return [
    route({
      method: 'post',
      path: '/v1/teams',
      tag: 'teams',
      summary: 'Create or update a team: name, leader, region, the portfolio segments it takes',
      access: { roles: ['admin'] },
      body: Team,
      responses: { 200: { description: 'The team', schema: Team } },
      async handler({ body }) {
        await d.sql`insert into teams (team_id, name, leader_id, region, segments)
                    values (${body.teamId}, ${body.name}, ${body.leaderId ?? null}, ${body.region ?? null}, ${body.segments})
                    on conflict (team_id) do update set name = excluded.name, leader_id = excluded.leader_id, region = excluded.region,
                      segments = excluded.segments`;
        return ok(body);
      },
    }),
    route({
      method: 'get',
      path: '/v1/teams',
      tag: 'teams',
      summary: 'Teams with their members, capacity and open load',
      access: { roles: ['supervisor', 'manager'] },
      responses: { 200: { description: 'The teams', schema: z.object({ teams: z.array(z.record(z.string(), z.unknown())) }) } },
      async handler() {
        const teams = await d.sql<{ team_id: string; name: string; leader_id: string | null; region: string | null; segments: string[] }[]>`
          select team_id, name, leader_id, region, segments from teams order by team_id`;
        const people = await d.sql<
          { person_id: string; name: string; role: string; team_id: string; calls_per_day: number; open_cases: number }[]
        >`
          select p.person_id, p.name, p.role, p.team_id, p.calls_per_day,
                 (select count(*)::int from cases c where c.collector_id = p.person_id and c.closed_at is null) as open_cases
          from people p where p.active and p.team_id is not null order by p.person_id`;
        return ok({
          teams: teams.map((t) => ({
            teamId: t.team_id,
            name: t.name,
            leaderId: t.leader_id,
            region: t.region,
            segments: t.segments,
            members: people
              .filter((p) => p.team_id === t.team_id)
              .map((p) => ({ personId: p.person_id, name: p.name, role: p.role, callsPerDay: p.calls_per_day, openCases: p.open_cases })),
          })),
        });
      },
    }),
    route({
      method: 'post',
      path: '/v1/people',
      tag: 'teams',
      summary: 'Create or update a person: role, team, capacity (calls and visits a day), languages',
      access: { roles: ['admin'] },
      body: Person,
      responses: { 200: { description: 'The person', schema: Person }, 404: { description: 'No such team' } },
      async handler({ body }) {
        if (body.teamId) await notFound('teams', body.teamId);
        await d.sql`insert into people (person_id, name, role, team_id, calls_per_day, visits_per_day, languages, active)
                    values (${body.personId}, ${body.name}, ${body.role}, ${body.teamId ?? null}, ${body.callsPerDay}, ${body.visitsPerDay},
                            ${body.languages}, ${body.active})
                    on conflict (person_id) do update set name = excluded.name, role = excluded.role, team_id = excluded.team_id,
                      calls_per_day = excluded.calls_per_day, visits_per_day = excluded.visits_per_day, languages = excluded.languages,
                      active = excluded.active`;
        return ok(body);
      },
    }),
    route({
      method: 'post',
      path: '/v1/people/:personId/days-off',
      tag: 'teams',
      summary: "Days a person does not work (the debtor's local dates): nobody is assigned work on a day off",
      access: { roles: ['admin', 'supervisor'] },
      params: z.object({ personId: Id }).strict(),
      body: z.object({ days: z.array(IsoDate).min(1).max(366) }).strict(),
      responses: { 200: { description: 'Recorded', schema: z.object({ personId: z.string(), days: z.array(z.string()) }) } },
      async handler({ params, body }) {
        await notFound('people', params.personId);
        for (const day of body.days)
          await d.sql`insert into days_off (person_id, day) values (${params.personId}, ${day}) on conflict do nothing`;
        return ok({ personId: params.personId, days: body.days });
      },
    }),
    route({
      method: 'post',
      path: '/v1/people/:personId/api-keys',
      tag: 'teams',
      summary: "An API key for a person, with the person's role: a collector's key sees that collector's queue (shown once)",
      access: { roles: ['admin'] },
      params: z.object({ personId: Id }).strict(),
      body: z.object({}).strict(),
      responses: { 201: { description: 'The key', schema: z.object({ personId: z.string(), role: z.string(), key: z.string() }) } },
      async handler({ params }) {
        const [p] = await d.sql<{ role: Role }[]>`select role from people where person_id = ${params.personId} and active`;
        if (!p) throw new HttpProblem(404, 'Not found', `no active person ${params.personId}`);
        return { status: 201, body: { personId: params.personId, role: p.role, key: await createApiKey(d.sql, params.personId, p.role) } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/assignment-rules',
      tag: 'teams',
      summary:
        'An assignment rule: the first active rule (lowest priority) whose given fields all match a case chooses its team ' +
        '(region, segment, balance band, days-overdue band, language; bands inclusive)',
      access: { roles: ['admin'] },
      body: Rule,
      responses: {
        201: { description: 'The rule', schema: RuleFields.extend({ ruleId: z.number().int() }) },
        404: { description: 'No such team' },
      },
      async handler({ body }) {
        await notFound('teams', body.teamId);
        const [row] = await d.sql<{ id: string }[]>`
          insert into assignment_rules (priority, team_id, region, segment, min_balance_minor, max_balance_minor, min_days_overdue,
                                        max_days_overdue, language)
          values (${body.priority}, ${body.teamId}, ${body.region ?? null}, ${body.segment ?? null}, ${body.minBalanceMinor ?? null},
                  ${body.maxBalanceMinor ?? null}, ${body.minDaysOverdue ?? null}, ${body.maxDaysOverdue ?? null}, ${body.language ?? null})
          returning id`;
        return { status: 201, body: { ruleId: Number(row!.id), ...body } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/assignment-rules/:ruleId/deactivate',
      tag: 'teams',
      summary: 'Switch a rule off: later cases are routed without it (cases already routed stay where they are)',
      access: { roles: ['admin'] },
      params: z.object({ ruleId: z.coerce.number().int().positive() }).strict(),
      body: z.object({}).strict(),
      responses: { 200: { description: 'Switched off', schema: z.object({ ruleId: z.number().int(), active: z.literal(false) }) } },
      async handler({ params }) {
        const [row] = await d.sql`update assignment_rules set active = false where id = ${params.ruleId} returning id`;
        if (!row) throw new HttpProblem(404, 'Not found', `no assignment rule ${params.ruleId}`);
        return ok({ ruleId: params.ruleId, active: false });
      },
    }),
    route({
      method: 'get',
      path: '/v1/assignment-rules',
      tag: 'teams',
      summary: 'The assignment rules, in the order they are tried',
      access: { roles: ['admin', 'supervisor', 'manager'] },
      responses: { 200: { description: 'The rules', schema: z.object({ rules: z.array(z.record(z.string(), z.unknown())) }) } },
      async handler() {
        const rules = await d.sql`select id, priority, team_id, region, segment, min_balance_minor, max_balance_minor, min_days_overdue,
                                         max_days_overdue, language
                                  from assignment_rules where active order by priority, id`;
        return ok({
          rules: rules.map((r) => ({
            ruleId: Number(r.id),
            priority: r.priority,
            teamId: r.team_id,
            region: r.region,
            segment: r.segment,
            minBalanceMinor: r.min_balance_minor,
            maxBalanceMinor: r.max_balance_minor,
            minDaysOverdue: r.min_days_overdue,
            maxDaysOverdue: r.max_days_overdue,
            language: r.language,
          })),
        });
      },
    }),
    action({
      name: 'reassign',
      answers: 200,
      summary: 'Move the case and its open tasks to a collector (and team), audited',
      roles: ['supervisor', 'manager'],
      body: ReassignBody,
      run: async (a, b, p) => ok(await update(reassignUpdate, a, [{ ...b, by: p.subject }])),
    }),
    route({
      method: 'get',
      path: '/v1/work-queues/team',
      tag: 'work queues',
      summary: "A team's open calls that nobody holds (the team's queue), oldest first; a supervisor assigns them",
      access: { roles: ['supervisor', 'manager'] },
      query: z.object({ teamId: Id }).strict(),
      responses: { 200: { description: 'The unassigned calls', schema: z.object({ teamId: z.string(), calls: z.array(TaskRow) }) } },
      async handler({ query }) {
        await notFound('teams', query.teamId);
        const rows = await d.sql<
          {
            id: string;
            account_id: string;
            team_id: string | null;
            collector_id: string | null;
            party: string;
            due_at: Date;
            outstanding_minor: number;
          }[]
        >`
          select t.id, t.account_id, t.team_id, t.collector_id, t.party, t.due_at, c.outstanding_minor
          from call_tasks t join cases c on c.case_key = t.case_key
          where t.team_id = ${query.teamId} and t.collector_id is null and t.status = 'open'
            and c.closed_at is null and not c.paused and c.outstanding_minor > 0
          order by t.due_at, t.id limit 500`;
        return ok({ teamId: query.teamId, calls: rows.map(taskRow) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/work-queues/escalated',
      tag: 'work queues',
      summary: "A team leader's list: the open cases they joined as a second owner (escalated), largest balance first",
      access: { roles: ['supervisor', 'manager'] },
      query: z.object({ leaderId: Id }).strict(),
      responses: {
        200: {
          description: 'The escalated cases',
          schema: z.object({
            leaderId: z.string(),
            cases: z.array(
              z.object({
                accountId: z.string(),
                teamId: z.string().nullable(),
                collectorId: z.string().nullable(),
                outstandingMinor: z.number().int(),
                escalatedAt: z.string(),
              }),
            ),
          }),
        },
      },
      async handler({ query, principal }) {
        // A leader's own key reads their own list; a manager (or admin) anyone's.
        if (principal?.role === 'supervisor' && principal.subject !== query.leaderId && (await isPerson(principal.subject)))
          throw new HttpProblem(403, 'Forbidden', 'a team leader reads their own list of escalated cases');
        const rows = await d.sql<
          { account_id: string; team_id: string | null; collector_id: string | null; outstanding_minor: number; escalated_at: Date }[]
        >`select account_id, team_id, collector_id, outstanding_minor, escalated_at from cases
          where second_owner_id = ${query.leaderId} and closed_at is null order by outstanding_minor desc, escalated_at limit 500`;
        return ok({
          leaderId: query.leaderId,
          cases: rows.map((r) => ({
            accountId: r.account_id,
            teamId: r.team_id,
            collectorId: r.collector_id,
            outstandingMinor: r.outstanding_minor,
            escalatedAt: r.escalated_at.toISOString(),
          })),
        });
      },
    }),
    route({
      method: 'post',
      path: '/v1/work-queues/calls/:taskId/assign',
      tag: 'work queues',
      summary: "Give an open call to a collector (a supervisor working the team's queue)",
      access: { roles: ['supervisor', 'manager'] },
      params: z.object({ taskId: z.coerce.number().int().positive() }).strict(),
      body: z.object({ collectorId: Id }).strict(),
      responses: { 200: { description: 'Assigned', schema: TaskRow }, 404: { description: 'No open task, or no such collector' } },
      async handler({ params, body, principal }) {
        const [person] = await d.sql`select 1 from people where person_id = ${body.collectorId} and role = 'collector' and active`;
        if (!person) throw new HttpProblem(404, 'Not found', `no active collector ${body.collectorId}`);
        type Given = {
          id: string;
          account_id: string;
          team_id: string | null;
          collector_id: string | null;
          party: string;
          due_at: Date;
          case_key: string;
          outstanding_minor: number;
          was: string | null;
        };
        const [row] = await d.sql<Given[]>`
          update call_tasks t set collector_id = ${body.collectorId}
          from (select id, collector_id as was from call_tasks where id = ${params.taskId} and status = 'open' for update) old, cases c
          where t.id = old.id and c.case_key = t.case_key
          returning t.id, t.account_id, t.team_id, t.collector_id, t.party, t.due_at, t.case_key, c.outstanding_minor, old.was`;
        if (!row) throw new HttpProblem(404, 'Not found', `no open call task ${params.taskId}`);
        await d.sql`insert into audit_log (actor, action, case_key, account_id, detail)
                    values (${principal!.subject}, 'call-task-assigned', ${row.case_key}, ${row.account_id},
                            ${d.sql.json({ taskId: Number(row.id), collectorId: body.collectorId, from: row.was })})`;
        return ok(taskRow(row));
      },
    }),
  ];
}

function taskRow(r: {
  id: string;
  account_id: string;
  team_id: string | null;
  collector_id: string | null;
  party: string;
  due_at: Date;
  outstanding_minor: number | null;
}) {
  return {
    taskId: Number(r.id),
    accountId: r.account_id,
    teamId: r.team_id,
    collectorId: r.collector_id,
    party: r.party,
    dueAt: r.due_at.toISOString(),
    outstandingMinor: r.outstanding_minor,
  };
}
