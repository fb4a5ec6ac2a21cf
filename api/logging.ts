import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import pino, { type Logger } from 'pino';

/**
 * Logs carry no PII: request bodies are never logged, and any phone number or ID number that reaches
 * a log line is masked. Masking goes by field: identifiers, numbers and the log's own fields are
 * written as they are (a request id is never altered), and only free text (a path, an error message,
 * a message) is searched for phone and ID numbers, which must stand alone: digits inside an id such
 * as a UUID are not a phone number.
 */
const PHONE = /(?<![\w-])\+?\d[\d -]{8,18}\d(?![\w-])/g;
const ID_NUMBER = /(?<![\w-])\d{17}[\dXx](?![\w-])/g;
/** Fields that hold identifiers or machine values, never a person's details. */
const VERBATIM = new Set(['requestId', 'method', 'status', 'ms', 'subject', 'service', 'level', 'time', 'pid', 'hostname', 'workflowId', 'runId', 'caseKey', 'paymentId', 'role']);

export function maskPii(text: string): string {
  return text.replace(ID_NUMBER, (m) => `${'*'.repeat(m.length - 4)}${m.slice(-4)}`).replace(PHONE, (m) => `${'*'.repeat(Math.max(0, m.length - 4))}${m.slice(-4)}`);
}

/** A log object with free text masked, field by field. */
export function maskFields(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return VERBATIM.has(key) ? value : maskPii(value);
  if (Array.isArray(value)) return value.map((v) => maskFields(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskFields(v, k)]));
  }
  return value;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'recoup-api' },
      formatters: { log: (obj) => maskFields(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskPii(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/**
 * The path as logged: percent-decoded, so that masking sees "+86 138 1234 5678" and not
 * "+86%20138%201234%205678". A malformed escape elsewhere in the path must not keep the rest encoded.
 */
function loggedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** A request id (taken from X-Request-Id when sane, else new) on every request, response and log line. */
export function requestLogging(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    (req as unknown as { id: string }).id = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const who = (req as unknown as { principal?: { subject: string } }).principal?.subject;
      log.info({ requestId: id, method: req.method, path: loggedPath(req.path), status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(who ? { subject: who } : {}) }, 'request');
    });
    next();
  };
}
