import { z } from 'zod';
import { IsoDate } from '../../shared/case';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';

const Agent = z.string().regex(/^[\w.-]{1,100}$/);
const CallTask = z.object({
  taskId: z.number().int(),
  accountId: z.string(),
  party: z.string(),
  partyRef: z.string().nullable(),
  phone: z.string().nullable(),
  dueAt: z.string(),
  windowEnd: z.string(),
  debtorName: z.string(),
  outstandingMinor: z.number().int().nullable(),
  currency: z.string(),
});
const VisitTask = z.object({
  visitId: z.number().int(),
  accountId: z.string(),
  debtorName: z.string(),
  address: z.string().nullable(),
  windowFrom: z.string(),
  windowTo: z.string(),
  purpose: z.string(),
  materials: z.array(z.string()),
  vehicle: z.string().nullable(),
  status: z.string(),
  approvalRequired: z.boolean(),
});

/** An agent sees their own queue; supervisors (and admins) may look at anyone's. */
function ownQueue(principal: { subject: string; role: string } | undefined, agentId: string): void {
  if (principal && (principal.role === 'collector' || principal.role === 'field-officer') && principal.subject !== agentId) {
    throw new HttpProblem(403, 'Forbidden', 'agents see their own work queue');
  }
}

export function queueRoutes(d: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/v1/work-queues/calls',
      tag: 'work queues',
      summary:
        "A collector's open call tasks for a day (the debtor's local date), in the order to make them: a promise due that day, " +
        'broken promises, highest balance, oldest delinquency; a page at a time. Calls of a closed, paid or paused case are not here.',
      access: { roles: ['collector', 'supervisor', 'manager'] },
      query: z
        .object({
          collectorId: Agent,
          date: IsoDate,
          pageSize: z.coerce.number().int().min(1).max(200).default(50),
          pageToken: z
            .string()
            .regex(/^\d{1,6}$/)
            .optional(),
        })
        .strict(),
      responses: {
        200: {
          description: 'The calls to make',
          schema: z.object({ collectorId: z.string(), date: z.string(), calls: z.array(CallTask), nextPageToken: z.string().optional() }),
        },
      },
      async handler({ query, principal }) {
        ownQueue(principal, query.collectorId);
        const offset = Number(query.pageToken ?? 0);
        const rows = await d.sql`
          select t.id, t.account_id, t.party, t.party_ref, t.phone, t.due_at, t.window_end, d.name, c.outstanding_minor, c.currency
          from call_tasks t join debtors d on d.account_id = t.account_id join cases c on c.case_key = t.case_key
          where t.collector_id = ${query.collectorId} and t.status = 'open' and (t.due_at at time zone d.time_zone)::date = ${query.date}
            and c.closed_at is null and not c.paused and c.outstanding_minor > 0
          order by exists (select 1 from promises p
                           where p.case_key = t.case_key and p.status = 'pending' and p.promised_date = ${query.date}) desc,
                   c.broken_promises > 0 desc, c.outstanding_minor desc, c.overdue_since nulls last, t.due_at, t.id
          limit ${query.pageSize + 1} offset ${offset}`;
        return {
          status: 200,
          body: {
            collectorId: query.collectorId,
            date: query.date,
            calls: rows.slice(0, query.pageSize).map((r) => ({
              taskId: r.id,
              accountId: r.account_id,
              party: r.party,
              partyRef: r.party_ref,
              phone: r.phone,
              dueAt: r.due_at.toISOString(),
              windowEnd: r.window_end.toISOString(),
              debtorName: r.name,
              outstandingMinor: r.outstanding_minor,
              currency: r.currency,
            })),
            ...(rows.length > query.pageSize ? { nextPageToken: String(offset + query.pageSize) } : {}),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/v1/work-queues/visits',
      tag: 'work queues',
      summary: "A field officer's visits for a day",
      access: { roles: ['field-officer', 'supervisor'] },
      query: z.object({ officerId: Agent, date: IsoDate }).strict(),
      responses: {
        200: {
          description: 'The visits to make',
          schema: z.object({ officerId: z.string(), date: z.string(), visits: z.array(VisitTask) }),
        },
      },
      async handler({ query, principal }) {
        ownQueue(principal, query.officerId);
        const rows = await d.sql`
          select v.id, v.account_id, d.name, d.address, v.window_from::text, v.window_to::text, v.purpose, v.materials, v.vehicle, v.status,
                 v.approval_required
          from visits v join debtors d on d.account_id = v.account_id
          where v.officer_id = ${query.officerId} and v.planned_for = ${query.date} and v.status in ('planned', 'approved')
          order by v.window_from, v.id`;
        return {
          status: 200,
          body: {
            officerId: query.officerId,
            date: query.date,
            visits: rows.map((r) => ({
              visitId: r.id,
              accountId: r.account_id,
              debtorName: r.name,
              address: r.address,
              windowFrom: r.window_from.slice(0, 5),
              windowTo: r.window_to.slice(0, 5),
              purpose: r.purpose,
              materials: r.materials,
              vehicle: r.vehicle,
              status: r.status,
              approvalRequired: r.approval_required,
            })),
          },
        };
      },
    }),
  ];
}
