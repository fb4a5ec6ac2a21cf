import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import pino, { type Logger } from 'pino';

/**
 * Logs carry no PII: request bodies are never logged, and any phone number or ID number that reaches
 * a log line is masked. Masking goes by field: identifiers, numbers and the log's own fields are
 * written as they are (a request id is never altered); a person's details (phones, ID number, name,
 * address, email) are masked whole; and free text (a path, an error message, a message) is searched
 * for phone and ID numbers, which must stand alone: digits inside an id such as a UUID are not a
 * phone number.
 */
const PHONE = /(?<![\w-])\+?\d[\d -]{8,18}\d(?![\w-])/g;
const ID_NUMBER = /(?<![\w-])\d{17}[\dXx](?![\w-])/g;
/** Fields that hold identifiers or machine values, never a person's details. */
const VERBATIM = new Set([
  'requestId',
  'method',
  'status',
  'ms',
  'subject',
  'service',
  'level',
  'time',
  'pid',
  'hostname',
  'workflowId',
  'runId',
  'caseKey',
  'paymentId',
  'role',
]);
/** Fields that are a person's details whatever they look like: numbers keep their last four characters, the rest is withheld. */
const PII_NUMBERS = new Set(['phone', 'phones', 'idNumber', 'id_number']);
const PII_TEXT = new Set(['name', 'debtorName', 'debtor_name', 'address', 'email']);

export function maskPii(text: string): string {
  return text
    .replace(ID_NUMBER, (m) => `${'*'.repeat(m.length - 4)}${m.slice(-4)}`)
    .replace(PHONE, (m) => `${'*'.repeat(Math.max(0, m.length - 4))}${m.slice(-4)}`);
}

/** A log object with free text masked, field by field. */
function maskFields(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (VERBATIM.has(key)) return value;
    if (PII_NUMBERS.has(key)) return `${'*'.repeat(Math.max(0, value.length - 4))}${value.slice(-4)}`;
    if (PII_TEXT.has(key)) return '[withheld]';
    return maskPii(value);
  }
  if (value instanceof Error) {
    // Its message and stack are not enumerable: keep them (masked), with its own fields.
    return maskFields({ ...value, type: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) }, key);
  }
  if (Array.isArray(value)) return value.map((v) => maskFields(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskFields(v, k)]));
  }
  return value;
}

export function createLogger(level: string, destination?: pino.DestinationStream, service = 'recoup-api'): Logger {
  return pino(
    {
      level,
      base: { service },
      formatters: { log: (obj) => maskFields(obj) as Record<string, unknown> },
      // maskFields has made every Error a plain object already (its type, message, stack, masked):
      // pino's own err serializer would call it an 'Object'.
      serializers: { err: (e: unknown) => e },
      hooks: {
        logMethod(args, method) {
          const masked: unknown[] = args.map((a) => (typeof a === 'string' ? maskPii(a) : a));
          // An Error logged with no message of its own: pino would write the error's message, unmasked, as msg.
          if (masked[0] instanceof Error && typeof masked[1] !== 'string') masked.splice(1, 0, maskPii(masked[0].message));
          method.apply(this, masked as Parameters<typeof method>);
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
export function loggedPath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  // The Temporal UI's codec path is a secret (RECOUP_CODEC_UI_TOKEN): whoever has it reads every case.
  return decoded.replace(/^(\/v1\/codec\/ui\/)[^/]+/, '$1***');
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
      log.info(
        {
          requestId: id,
          method: req.method,
          path: loggedPath(req.path),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          ...(who ? { subject: who } : {}),
        },
        'request',
      );
    });
    next();
  };
}
