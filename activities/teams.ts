import { ApplicationFailure } from '@temporalio/common';
import { atomically, type Sql } from '../db/index';
import type { Assignment, AssignmentRequest, EscalationRequest } from '../shared/activities';
import { ErrorTypes } from '../shared/errors';
import { audit } from './audit';
import type { ChannelProvider } from './channels/index';

/** Open cases weigh more than today's calls: a case is weeks of work, a call minutes. */
const CASE_WEIGHT = 4;

interface Rule {
  id: string;
  team_id: string;
}

/**
 * Routing (issue 13). `assignCase` chooses a team by the first matching rule and, within it, the
 * working collector with the least open load (4 × open cases + today's open calls; ties by person
 * id), unless a supervisor names the collector. One routing at a time (an advisory lock), so loads
 * counted are loads written. Idempotent on its key: a retry answers what was assigned.
 */
export function createTeamActivities({ sql, notify }: { sql: Sql; notify: ChannelProvider }) {
  return {
    async assignCase(r: AssignmentRequest): Promise<Assignment> {
      return atomically(sql, async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext('recoup-routing'))`;
        type Done = { team_id: string | null; collector_id: string | null; leader_id: string | null; rule_id: string | null };
        const [done] = await tx<Done[]>`
          select team_id, collector_id, leader_id, rule_id from case_assignments where idempotency_key = ${r.idempotencyKey}`;
        if (done) return answer(done.team_id, done.collector_id, done.leader_id, done.rule_id);

        let teamId = r.teamId;
        let ruleId: string | undefined;
        if (r.collectorId) {
          const [p] = await tx<{ team_id: string | null; role: string; active: boolean }[]>`
            select team_id, role, active from people where person_id = ${r.collectorId}`;
          if (!p || !p.active || p.role !== 'collector')
            throw ApplicationFailure.nonRetryable(`no active collector ${r.collectorId}`, ErrorTypes.InvalidInput);
          if (teamId && teamId !== p.team_id)
            throw ApplicationFailure.nonRetryable(
              `collector ${r.collectorId} is in team ${p.team_id ?? '(none)'}, not ${teamId}: move them first (POST /v1/people)`,
              ErrorTypes.InvalidInput,
            );
          teamId = p.team_id ?? undefined;
        } else if (!teamId) {
          const [rule] = await tx<Rule[]>`
            select id, team_id from assignment_rules
            where active
              and (region is null or region = ${r.region ?? null})
              and (segment is null or segment = ${r.segment ?? null})
              and (min_balance_minor is null or ${r.outstandingMinor} >= min_balance_minor)
              and (max_balance_minor is null or ${r.outstandingMinor} <= max_balance_minor)
              and (min_days_overdue is null or ${r.daysOverdue} >= min_days_overdue)
              and (max_days_overdue is null or ${r.daysOverdue} <= max_days_overdue)
              and (language is null or language = ${r.language})
            order by priority, id limit 1`;
          teamId = rule?.team_id;
          ruleId = rule?.id;
        }
        if (r.moveOnlyToAnotherTeam) {
          const [cur] = await tx<{ team_id: string | null; collector_id: string | null }[]>`
            select team_id, collector_id from cases where case_key = ${r.caseKey}`;
          if (cur && (!teamId || teamId === cur.team_id)) {
            // No rule for the case now, or the team it is in: it stays with its owner (recorded, so a retry answers the same).
            const [lead] = cur.team_id
              ? await tx<{ leader_id: string | null }[]>`select leader_id from teams where team_id = ${cur.team_id}`
              : [];
            await tx`
              insert into case_assignments (idempotency_key, case_key, account_id, team_id, collector_id, leader_id, rule_id, reason,
                                            assigned_by, assigned_at)
              values (${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, ${cur.team_id}, ${cur.collector_id}, ${lead?.leader_id ?? null},
                      ${ruleId ?? null}, ${`${r.reason} (kept)`}, ${r.by}, ${r.at})`;
            return answer(cur.team_id, cur.collector_id, lead?.leader_id ?? null, ruleId ?? null);
          }
        }
        let collectorId = r.collectorId;
        if (!collectorId && teamId) {
          // Working that day, below the day's call capacity; the least open load first.
          const [least] = await tx<{ person_id: string }[]>`
            select person_id from (
              select p.person_id, p.calls_per_day,
                     (select count(*) from cases c where c.collector_id = p.person_id and c.closed_at is null
                        and c.case_key <> ${r.caseKey}) as open_cases,
                     (select count(*) from call_tasks t where t.collector_id = p.person_id and t.status = 'open'
                        and t.due_at >= ${r.localDate}::date - 1 and t.due_at < ${r.localDate}::date + 2) as todays_calls
              from people p
              where p.team_id = ${teamId} and p.role = 'collector' and p.active
                and not exists (select 1 from days_off o where o.person_id = p.person_id and o.day = ${r.localDate})
            ) m
            where todays_calls < calls_per_day
            order by ${CASE_WEIGHT} * open_cases + todays_calls, person_id
            limit 1`;
          collectorId = least?.person_id;
        }
        const [team] = teamId
          ? await tx<{ leader_id: string | null }[]>`select leader_id from teams where team_id = ${teamId}`
          : [undefined];
        const leaderId = team?.leader_id ?? null;

        await tx`
          insert into case_assignments (idempotency_key, case_key, account_id, team_id, collector_id, leader_id, rule_id, reason,
                                        assigned_by, assigned_at)
          values (${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, ${teamId ?? null}, ${collectorId ?? null}, ${leaderId},
                  ${ruleId ?? null}, ${r.reason}, ${r.by}, ${r.at})`;
        const [before] = await tx<{ collector_id: string | null; team_id: string | null }[]>`
          update cases c set collector_id = ${collectorId ?? null}, team_id = ${teamId ?? null}
          from (select collector_id, team_id from cases where case_key = ${r.caseKey} for update) old
          where c.case_key = ${r.caseKey}
          returning old.collector_id, old.team_id`;
        // The case's open tasks move with it: the next call is in the new collector's queue, none in the old one's.
        const moved = await tx`update call_tasks set collector_id = ${collectorId ?? null}, team_id = ${teamId ?? null}
                               where case_key = ${r.caseKey} and status = 'open' returning id`;
        await audit(tx, r.by, 'case-assigned', r, {
          reason: r.reason,
          teamId: teamId ?? null,
          collectorId: collectorId ?? null,
          from: before ? { teamId: before.team_id, collectorId: before.collector_id } : null,
          ruleId: ruleId ? Number(ruleId) : null,
          tasksMoved: moved.length,
        });
        return answer(teamId ?? null, collectorId ?? null, leaderId, ruleId ?? null);
      });
    },

    /** The leader joins the case (second owner) and is told once, through the notification channel. */
    async escalateToLeader(r: EscalationRequest): Promise<void> {
      await atomically(sql, async (tx) => {
        const updated = await tx`update cases set second_owner_id = ${r.leaderId}, escalated_at = ${r.at}
                                 where case_key = ${r.caseKey} and second_owner_id is distinct from ${r.leaderId} returning id`;
        if (updated.length > 0)
          await audit(tx, 'case-workflow', 'case-escalated', r, { leaderId: r.leaderId, teamId: r.teamId, reason: r.reason });
      });
      const [leader] = await sql<{ name: string }[]>`select name from people where person_id = ${r.leaderId}`;
      await notify.send({
        idempotencyKey: r.idempotencyKey,
        channel: 'email',
        caseKey: r.caseKey,
        accountId: r.accountId,
        recipient: { name: leader?.name ?? r.leaderId, email: `${r.leaderId}@recoup.local` },
        subject: `Case ${r.accountId} needs you: ${r.reason}`,
        body:
          `Case ${r.accountId} (${r.reason}) is now also yours as the leader of team ${r.teamId}. ` +
          'It is in your list of escalated cases.',
      });
    },
  };
}

function answer(teamId: string | null, collectorId: string | null, leaderId: string | null, ruleId: string | number | null): Assignment {
  return {
    ...(teamId ? { teamId } : {}),
    ...(collectorId ? { collectorId } : {}),
    ...(leaderId ? { leaderId } : {}),
    ...(ruleId !== null ? { ruleId: Number(ruleId) } : {}),
  };
}
