import { WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { caseWorkflowId } from '../../shared/ids';
import { CASE_STAGES } from '../../shared/stages';
import type { ROLES, Principal } from '../auth';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';
import { AccountId } from '../../shared/intake';

export const AccountParams = z.object({ accountId: AccountId }).strict();

/** The role a case records for an API key's role (an approval, a review, an in-kind step): an admin acts as a manager. */
export function actingRole(p: Principal): Exclude<Principal['role'], 'admin'> {
  return p.role === 'admin' ? 'manager' : p.role;
}
const Stage = z.enum(CASE_STAGES);

const Ack = z.object({ accepted: z.literal(true), stage: Stage, detail: z.string() });
const Accepted = z.object({ accepted: z.literal(true) });
/** What an action answers when the case takes it: an update's acknowledgement, a recorded promise, or a delivered signal. */
const SUCCESS = {
  200: { description: 'Accepted by the case', schema: Ack.extend({ promiseId: z.number().int().optional() }) },
  201: { description: 'The promise is recorded', schema: Ack.extend({ promiseId: z.number().int() }) },
  202: { description: 'Delivered to the case', schema: Accepted },
} as const;

/** How the API talks to a case: its handle, updates and signals (a closed case is a 409), and an action route's shape. */
export function caseMessaging(d: ApiDeps) {
  const handle = (accountId: string) => d.client.workflow.getHandle(caseWorkflowId(accountId));
  /** A message to a case that has ended is a 409, not a 404: the case exists, closed. */
  const closedIs409 = async <T>(accountId: string, p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) {
        const status = await handle(accountId)
          .describe()
          .then(
            (x) => x.status.name,
            () => undefined,
          );
        if (status && status !== 'RUNNING')
          throw new HttpProblem(409, 'Case closed', `the case for ${accountId} is ${status.toLowerCase()}`);
      }
      throw e;
    }
  };
  const update = <R, A extends unknown[]>(def: UpdateDefinition<R, A>, accountId: string, args: A): Promise<R> =>
    closedIs409(
      accountId,
      handle(accountId).executeUpdate(def as unknown as UpdateDefinition<R, [unknown]>, { args: args as unknown as [unknown] }),
    );

  const action = <B extends z.ZodType>(opts: {
    name: string;
    summary: string;
    roles: readonly (typeof ROLES)[number][];
    body: B;
    answers: keyof typeof SUCCESS;
    run: (accountId: string, body: z.infer<B>, p: Principal) => Promise<{ status: number; body: unknown }>;
  }) =>
    route({
      method: 'post',
      path: `/v1/cases/:accountId/${opts.name}`,
      tag: 'case actions',
      summary: opts.summary,
      access: { roles: opts.roles },
      params: AccountParams,
      body: opts.body,
      responses: {
        [opts.answers]: SUCCESS[opts.answers],
        400: { description: 'Invalid body' },
        404: { description: 'No case for the account' },
        409: { description: 'The case is closed' },
        422: { description: 'Rejected by the case (the reason is in detail)' },
      },
      handler: async ({ params, body, principal }) => opts.run(params.accountId, body, principal!),
    });

  const signal = async (accountId: string, def: Parameters<ReturnType<typeof handle>['signal']>[0], arg: unknown) => {
    await closedIs409(accountId, handle(accountId).signal(def as never, arg as never));
    return { status: 202, body: { accepted: true } };
  };
  return { handle, closedIs409, update, action, signal };
}
