import express, { type Express, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import swaggerUi from 'swagger-ui-express';
import { authenticate, requireRoles } from './auth';
import { codecRouter } from './codec';
import { createMetrics } from './metrics';
import type { ApiDeps } from './deps';
import { HttpProblem, parseOr400, problemHandler } from './errors';
import { createLogger, requestLogging } from './logging';
import { openApiDocument } from './openapi';
import type { RouteDef } from './registry';
import { caseRoutes } from './routes/cases';
import { creditRoutes } from './routes/credit';
import { experimentRoutes } from './routes/experiments';
import { importRoutes } from './routes/imports';
import { playbookRoutes } from './routes/playbooks';
import { preferenceRoutes } from './routes/preferences';
import { reportRoutes } from './routes/reports';
import { scorecardRoutes } from './routes/scorecards';
import { subscriptionRoutes } from './routes/subscriptions';
import { teamRoutes } from './routes/teams';
import { treatmentRoutes } from './routes/treatments';
import { checkWebhookSignature, intakeRoutes } from './routes/intake';
import { opsRoutes } from './routes/ops';
import { queueRoutes } from './routes/queues';

export type { ApiDeps } from './deps';

export function allRoutes(d: ApiDeps): RouteDef[] {
  return [
    ...opsRoutes(d),
    ...intakeRoutes(d),
    ...importRoutes(d),
    ...caseRoutes(d),
    ...treatmentRoutes(d),
    ...queueRoutes(d),
    ...teamRoutes(d),
    ...scorecardRoutes(d),
    ...reportRoutes(d),
    ...creditRoutes(d),
    ...preferenceRoutes(d),
    ...subscriptionRoutes(d),
    ...playbookRoutes(d),
    ...experimentRoutes(d),
  ];
}

/** Thin over Temporal and PostgreSQL: zod in, one Temporal call (or a ledger read), errors mapped, JSON out. */
export function createApp(d: ApiDeps, log: Logger = createLogger(process.env.LOG_LEVEL ?? 'info')): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestLogging(log));
  const metrics = createMetrics({ sql: d.sql, ...d.metrics });
  app.use(metrics.observe);
  app.get('/metrics', metrics.handler);

  const routes = allRoutes(d);
  const doc = openApiDocument(routes);
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.use('/v1/docs', swaggerUi.serve, swaggerUi.setup(doc, { customSiteTitle: 'Recoup API' }));

  if (d.codec) app.use(codecRouter(d.codec, d.sql));

  const json = express.json({ limit: '64kb', strict: true });
  const raw = express.raw({ type: () => true, limit: '16kb' });
  const webhookLimit = rateLimit({
    windowMs: 60_000,
    limit: d.webhookRateLimit ?? 600,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new HttpProblem(429, 'Too many requests', 'webhook rate limit reached; retry later')),
  });

  for (const r of routes) {
    const chain: RequestHandler[] = [];
    if (r.access === 'signature') {
      chain.push(webhookLimit, raw, (req, _res, next) => {
        const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
        checkWebhookSignature(d, req.get('recoup-signature'), rawBody);
        try {
          req.body = JSON.parse(rawBody);
        } catch {
          throw new HttpProblem(400, 'Invalid JSON', 'the body is not valid JSON');
        }
        next();
      });
    } else {
      if (typeof r.access === 'object') chain.push(authenticate(d.sql), requireRoles(r.access.roles));
      if (r.method === 'post' && r.streamedBody) {
        chain.push((req, _res, next) => {
          if (!r.streamedBody!.some((t) => req.is(t)))
            throw new HttpProblem(415, 'Unsupported media type', `send the body as ${r.streamedBody!.join(' or ')}`);
          next();
        });
      } else if (r.method === 'post') {
        chain.push(json, (req, _res, next) => {
          // A body express.json did not read (another content type) must not pass for an empty one: {} is a valid `resume`.
          const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
          if (hasBody && !req.is('application/json'))
            throw new HttpProblem(415, 'Unsupported media type', 'send the body as application/json');
          next();
        });
      }
    }
    chain.push(async (req, res) => {
      const params = r.params ? parseOr400(r.params, req.params, 'params') : {};
      const query = r.query ? parseOr400(r.query, req.query, 'query') : {};
      const body = r.body ? parseOr400(r.body, req.body ?? {}, 'body') : undefined;
      const principal = (req as unknown as { principal?: { subject: string; role: never } }).principal;
      const out = await r.handler({ params, query, body, ...(principal ? { principal } : {}), req, res });
      if (out.body === undefined) res.status(out.status).end();
      else if (out.contentType) res.status(out.status).type(out.contentType).send(out.body);
      else res.status(out.status).json(out.body);
    });
    app[r.method](r.path, ...chain);
  }

  app.use((_req, _res, next) => next(new HttpProblem(404, 'Not found', 'no such route')));
  app.use(problemHandler(log));
  return app;
}
