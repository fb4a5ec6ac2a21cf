import { z } from 'zod';
import { audit, type PreferredChannel } from '../../activities/audit';
import { TEMPLATES } from '../../activities/documents/templates';
import type { DocumentLanguage } from '../../activities/documents/types';
import type { Db } from '../../db/index';
import type { Principal } from '../auth';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';
import { AccountParams } from './case-actions';

const PREFERRED_CHANNELS = ['call', 'sms', 'email', 'letter', 'visit'] as const satisfies readonly PreferredChannel[];
/** The languages the letters are rendered in: one template each (activities/documents/templates.ts). */
const LETTER_LANGUAGES = Object.keys(TEMPLATES) as [DocumentLanguage, ...DocumentLanguage[]];

/** What a person (the debtor or a guarantor) may ask for. */
const PersonPreferences = {
  /** Contact this person by no channel at all (their request, or a regulator's order). */
  doNotContact: z.boolean().optional(),
  /** The person asked, in writing, that communication cease (12 CFR 1006.6(c) in the US). */
  ceaseCommunication: z.boolean().optional(),
  /** How they would rather be contacted; informational (the ladder's channel still runs, and its log row says so); null clears it. */
  preferredChannel: z
    .enum(PREFERRED_CHANNELS, { error: `one of ${PREFERRED_CHANNELS.join(', ')} (or null)` })
    .nullable()
    .optional(),
  /** The language of their letters (a BCP 47 tag the letters are rendered in); null: the playbook's. */
  preferredLanguage: z
    .enum(LETTER_LANGUAGES, { error: `a language the letters are rendered in: ${LETTER_LANGUAGES.join(', ')} (or null)` })
    .nullable()
    .optional(),
};
/**
 * Why: the person's letter, the call it was asked in. Kept in the audit log's JSON, which takes no NUL
 * (so no control characters but tab and newlines).
 */
const Reason = z
  .string()
  .trim()
  .min(3)
  .max(500)
  .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'text without control characters (tab and newlines are fine)');

const PERSON_FIELDS = ['doNotContact', 'ceaseCommunication', 'preferredChannel', 'preferredLanguage'] as const;
const DEBTOR_FIELDS = [...PERSON_FIELDS, 'thirdPartyConsent'] as const;
const atLeastOne = (fields: readonly string[]) => ({ message: `set at least one of ${fields.join(', ')}` });

const DebtorPreferences = z
  .object({
    ...PersonPreferences,
    /** The debtor consents to the collector contacting third parties about the debt (12 CFR 1006.6(d)(1)). */
    thirdPartyConsent: z.boolean().optional(),
    reason: Reason,
  })
  .strict()
  .refine((p) => DEBTOR_FIELDS.some((f) => p[f] !== undefined), atLeastOne(DEBTOR_FIELDS));

const GuarantorPreferences = z
  .object({ ...PersonPreferences, reason: Reason })
  .strict()
  .refine((p) => PERSON_FIELDS.some((f) => p[f] !== undefined), atLeastOne(PERSON_FIELDS));

const GuarantorParams = AccountParams.extend({ guarantorId: z.string().min(1).max(100) }).strict();

/** The debtor's row, or a guarantor's (`guarantorId`): the ledger keeps a guarantor by the id the case was opened with. */
interface Who {
  accountId: string;
  guarantorId?: string;
}

interface Row {
  name: string;
  do_not_contact: boolean;
  cease_communication: boolean;
  preferred_channel: PreferredChannel | null;
  preferred_language: string | null;
  /** Debtors only. */
  third_party_consent?: boolean;
  updated_at: Date;
}

type Preferences = {
  doNotContact: boolean;
  ceaseCommunication: boolean;
  preferredChannel: PreferredChannel | null;
  preferredLanguage: string | null;
  thirdPartyConsent?: boolean;
};

async function select(sql: Db, who: Who, lock: boolean): Promise<Row> {
  const forUpdate = lock ? sql`for update` : sql``;
  const [row] =
    who.guarantorId === undefined
      ? await sql<Row[]>`
          select name, do_not_contact, cease_communication, preferred_channel, preferred_language, third_party_consent, updated_at
          from debtors where account_id = ${who.accountId} ${forUpdate}`
      : await sql<Row[]>`
          select name, do_not_contact, cease_communication, preferred_channel, preferred_language, updated_at
          from guarantors where account_id = ${who.accountId} and guarantor_ref = ${who.guarantorId} ${forUpdate}`;
  if (!row) {
    const what = who.guarantorId === undefined ? 'no debtor' : `no guarantor ${who.guarantorId}`;
    throw new HttpProblem(404, 'Not found', `${what} for account ${who.accountId}`);
  }
  return row;
}

const preferencesOf = (r: Row): Preferences => ({
  doNotContact: r.do_not_contact,
  ceaseCommunication: r.cease_communication,
  preferredChannel: r.preferred_channel,
  preferredLanguage: r.preferred_language,
  ...(r.third_party_consent !== undefined ? { thirdPartyConsent: r.third_party_consent } : {}),
});

/**
 * Contact preferences (issue 15, part 4) of a debtor and of each guarantor: do-not-contact,
 * cease-communication, preferred channel and language, and (the debtor's) consent to contact third
 * parties. Set through the API and audited (before, after, reason). The compliance guard and the
 * letters read them from the ledger at each contact, so a running case's next contact obeys them at
 * once; see docs/contact-preferences.md for what each one does.
 */
export function preferenceRoutes(d: ApiDeps) {
  const read = async (who: Who) => {
    const row = await select(d.sql, who, false);
    return {
      accountId: who.accountId,
      ...(who.guarantorId !== undefined ? { guarantorId: who.guarantorId, name: row.name } : {}),
      ...preferencesOf(row),
      updatedAt: row.updated_at.toISOString(),
    };
  };

  /** One change, in one transaction: the row locked, the fields given written, an audit row with before, after and reason. */
  const write = async (who: Who, body: Partial<Preferences> & { reason: string }, actor: Principal) => {
    await d.sql.begin(async (tx) => {
      const sql = tx as unknown as Db;
      const row = await select(sql, who, true);
      const before = preferencesOf(row);
      // A collector records a debtor's request to stop; lifting one is a supervisor's decision.
      const lifted = (['doNotContact', 'ceaseCommunication'] as const).filter((k) => before[k] && body[k] === false);
      if (lifted.length > 0 && actor.role !== 'supervisor' && actor.role !== 'admin') {
        throw new HttpProblem(403, 'Forbidden', `only a supervisor lifts ${lifted.join(' and ')} once set`, { lifted });
      }
      const after: Preferences = {
        doNotContact: body.doNotContact ?? before.doNotContact,
        ceaseCommunication: body.ceaseCommunication ?? before.ceaseCommunication,
        preferredChannel: body.preferredChannel !== undefined ? body.preferredChannel : before.preferredChannel,
        preferredLanguage: body.preferredLanguage !== undefined ? body.preferredLanguage : before.preferredLanguage,
        ...(before.thirdPartyConsent !== undefined ? { thirdPartyConsent: body.thirdPartyConsent ?? before.thirdPartyConsent } : {}),
      };
      const columns = {
        do_not_contact: after.doNotContact,
        cease_communication: after.ceaseCommunication,
        preferred_channel: after.preferredChannel,
        preferred_language: after.preferredLanguage,
      };
      if (who.guarantorId === undefined) {
        await sql`update debtors set ${sql(columns)}, third_party_consent = ${after.thirdPartyConsent!}, updated_at = now()
                  where account_id = ${who.accountId}`;
      } else {
        await sql`update guarantors set ${sql(columns)}, updated_at = now()
                  where account_id = ${who.accountId} and guarantor_ref = ${who.guarantorId}`;
      }
      const [c] = await sql<{ case_key: string }[]>`
        select case_key from cases where account_id = ${who.accountId} order by opened_at desc limit 1`;
      const at = new Date().toISOString();
      await audit(
        sql,
        actor.subject,
        'contact-preferences',
        {
          accountId: who.accountId,
          caseKey: (c?.case_key ?? null) as never,
          idempotencyKey: `contact-preferences:${who.accountId}:${who.guarantorId ?? ''}:${at}`,
          at,
        },
        {
          party: who.guarantorId === undefined ? 'debtor' : 'guarantor',
          ...(who.guarantorId !== undefined ? { guarantorId: who.guarantorId } : {}),
          before,
          after,
          reason: body.reason,
        },
      );
    });
  };

  const readers = { roles: ['collector', 'field-officer', 'supervisor', 'legal'] as const };
  const writers = { roles: ['collector', 'supervisor'] as const };
  const Answer = z.record(z.string(), z.unknown());
  return [
    route({
      method: 'get',
      path: '/v1/accounts/:accountId/contact-preferences',
      tag: 'compliance',
      summary:
        "The debtor's contact preferences: do-not-contact, cease-communication, preferred channel and language, " +
        'consent to contact third parties',
      access: readers,
      params: AccountParams,
      responses: {
        200: { description: 'The preferences', schema: Answer },
        404: { description: 'No such debtor' },
      },
      async handler({ params }) {
        return { status: 200, body: await read({ accountId: params.accountId }) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/accounts/:accountId/contact-preferences',
      tag: 'compliance',
      summary:
        "Set the debtor's contact preferences (a collector records the debtor's request, a supervisor decides): " +
        'audited; the next contact of a running case obeys them',
      access: writers,
      params: AccountParams,
      body: DebtorPreferences,
      responses: {
        200: { description: 'The preferences as now set', schema: Answer },
        404: { description: 'No such debtor' },
      },
      async handler({ params, body, principal }) {
        const who = { accountId: params.accountId };
        await write(who, body, principal!);
        return { status: 200, body: await read(who) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/accounts/:accountId/guarantors/:guarantorId/contact-preferences',
      tag: 'compliance',
      summary: "A guarantor's contact preferences: do-not-contact, cease-communication, preferred channel and language",
      access: readers,
      params: GuarantorParams,
      responses: {
        200: { description: 'The preferences', schema: Answer },
        404: { description: 'No such guarantor of that account' },
      },
      async handler({ params }) {
        return { status: 200, body: await read(params) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/accounts/:accountId/guarantors/:guarantorId/contact-preferences',
      tag: 'compliance',
      summary:
        "Set a guarantor's contact preferences (the id the case was opened with): audited; " +
        "the guarantor's next call or letter obeys them",
      access: writers,
      params: GuarantorParams,
      body: GuarantorPreferences,
      responses: {
        200: { description: 'The preferences as now set', schema: Answer },
        404: { description: 'No such guarantor of that account' },
      },
      async handler({ params, body, principal }) {
        await write(params, body, principal!);
        return { status: 200, body: await read(params) };
      },
    }),
  ];
}
