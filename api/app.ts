import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import { z } from 'zod';
import { CaseInput, Debtor, IsoDate, PaymentReceived } from '../shared/case';
import { caseWorkflowId } from '../shared/ids';
import { caseStateQuery, missedPaymentSignal, paymentReceivedSignal } from '../shared/messages';
import { Money } from '../shared/money';
import { CaseStage, OutstandingMinor } from '../shared/search-attributes';
import { HttpProblem, parseOr400, problemHandler } from './errors';

export interface ApiDeps {
  client: Client;
  taskQueue: string;
}

const MissedPaymentBody = z.object({
  accountId: CaseInput.shape.accountId,
  debtor: Debtor,
  dueDate: IsoDate,
  amountDue: Money,
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
    const input: CaseInput = { accountId: body.accountId, debtor: body.debtor, currency: missed.currency, firstMissed: missed };
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
      ],
    });
    res.status(202).json({ workflowId, runId: handle.signaledRunId });
  });

  app.post('/v1/webhooks/payments', async (req, res) => {
    const body = parseOr400(PaymentWebhookBody, req.body, 'body');
    const { accountId, ...payment } = body;
    const handle = client.workflow.getHandle(caseWorkflowId(accountId));
    const state = await handle.query(caseStateQuery);
    if (state.stage !== 'open') throw new HttpProblem(409, 'Case closed', `the case for ${accountId} is ${state.stage}`);
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
