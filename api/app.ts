import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import { z } from 'zod';
import { isValidTimeZone } from '../shared/calendar';
import { CaseInput, Debtor, Guarantor, IsoDate, PaymentReceived } from '../shared/case';
import { DEFAULT_PLAYBOOK_ID, PLAYBOOKS } from '../shared/playbooks';
import { caseWorkflowId } from '../shared/ids';
import { caseStateQuery, missedPaymentSignal, paymentReceivedSignal } from '../shared/messages';
import { Money } from '../shared/money-schema';
import { CaseStage, CollectorId, HasGuarantor, OutstandingMinor } from '../shared/search-attributes';
import { HttpProblem, parseOr400, problemHandler } from './errors';

export interface ApiDeps {
  client: Client;
  taskQueue: string;
}

const MissedPaymentBody = z.object({
  accountId: CaseInput.shape.accountId,
  debtor: Debtor.refine((d) => isValidTimeZone(d.timeZone), { message: 'an IANA time zone such as Asia/Shanghai', path: ['timeZone'] }),
  guarantors: z.array(Guarantor).max(10).default([]),
  dueDate: IsoDate,
  amountDue: Money,
  playbookId: z.string().refine((id) => id in PLAYBOOKS, 'an existing playbook id').default(DEFAULT_PLAYBOOK_ID),
  collectorId: z.string().min(1).max(100).optional(),
});

const PaymentWebhookBody = PaymentReceived.extend({ accountId: CaseInput.shape.accountId });
const AccountParams = z.object({ accountId: CaseInput.shape.accountId });

/** Thin over Temporal: zod in, one start/signal/query, errors mapped, JSON out. */
export function createApp({ client, taskQueue }: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.post('/v1/missed-payments', async (req, res) => {
    const body = parseOr400(MissedPaymentBody, req.body, 'body');
    const missed = { dueDate: body.dueDate, amountMinor: body.amountDue.amountMinor, currency: body.amountDue.currency };
    const workflowId = caseWorkflowId(body.accountId);
    const input: CaseInput = {
      accountId: body.accountId,
      debtor: body.debtor,
      guarantors: body.guarantors,
      currency: missed.currency,
      firstMissed: missed,
      playbook: PLAYBOOKS[body.playbookId]!,
      ...(body.collectorId ? { collectorId: body.collectorId } : {}),
    };
    // Start the account's case or, when one is open, add the missed instalment to it.
    const handle = await client.workflow.signalWithStart('collectionCase', {
      workflowId,
      taskQueue,
      args: [input],
      signal: missedPaymentSignal,
      signalArgs: [missed],
      staticSummary: `Collection case for account ${body.accountId}`,
      typedSearchAttributes: [
        { key: CaseStage, value: 'open' },
        { key: OutstandingMinor, value: missed.amountMinor },
        { key: HasGuarantor, value: body.guarantors.length > 0 },
        ...(body.collectorId ? [{ key: CollectorId, value: body.collectorId }] : []),
      ],
    });
    res.status(202).json({ workflowId, runId: handle.signaledRunId });
  });

  app.post('/v1/webhooks/payments', async (req, res) => {
    const body = parseOr400(PaymentWebhookBody, req.body, 'body');
    const { accountId, ...payment } = body;
    const handle = client.workflow.getHandle(caseWorkflowId(accountId));
    const state = await handle.query(caseStateQuery);
    if (state.stage !== 'open' && state.stage !== 'legal') throw new HttpProblem(409, 'Case closed', `the case for ${accountId} is ${state.stage}`);
    if (state.currency !== payment.currency) {
      throw new HttpProblem(422, 'Currency mismatch', `the case is in ${state.currency}, the payment in ${payment.currency}`);
    }
    await handle.signal(paymentReceivedSignal, payment);
    res.status(200).json({ accepted: true });
  });

  app.get('/v1/cases/:accountId', async (req, res) => {
    const { accountId } = parseOr400(AccountParams, req.params, 'params');
    const state = await client.workflow.getHandle(caseWorkflowId(accountId)).query(caseStateQuery);
    res.json(state);
  });

  app.use((_req, _res, next) => next(new HttpProblem(404, 'Not found', 'no such route')));
  app.use(problemHandler);
  return app;
}
