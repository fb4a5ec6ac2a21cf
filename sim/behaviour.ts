import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { ReasonCategory } from '../shared/playbook';

/**
 * The debtor behaviour model of `recoup simulate` (docs/simulation.md): what debtors, guarantors and
 * the operations team do when the case reaches them, as probabilities by segment and by reason
 * category. Read from a YAML or JSON file (the default: sim/behaviour-default.yaml) and validated here.
 */
export const DEFAULT_BEHAVIOUR_FILE = fileURLToPath(new URL('./behaviour-default.yaml', import.meta.url));

const Probability = z.number().min(0, 'a probability, 0 to 1').max(1, 'a probability, 0 to 1');
const ordered = ([lo, hi]: readonly [number, number]) => lo <= hi;
const ShareRange = z.tuple([Probability, Probability]).refine(ordered, 'a range [low, high] with low ≤ high');
const Days = z.number().int('whole days').min(0).max(60);
const DayRange = z.tuple([Days, Days]).refine(ordered, 'a range [low, high] of days with low ≤ high');
const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

const REASONS = ['1', '2', '3', '4', '5', '6'] as const;
const byReason = <T extends z.ZodType>(t: T) =>
  z.object(Object.fromEntries(REASONS.map((r) => [r, t.optional()])) as Record<'1', z.ZodOptional<T>>);

/** How often each reason category (shared/reasons.ts) is the debtor's: weights, at least one above zero. */
const ReasonMix = byReason(z.number().min(0, 'a weight, 0 or more'))
  .strict()
  .refine((m) => Object.values(m).some((w) => (w ?? 0) > 0), 'give at least one reason a weight above 0');

const answer = { phone: Probability, visit: Probability };
const guarantor = { pays: Probability, refuses: Probability, days: DayRange };
const lawyersLetter = { pays: Probability, days: DayRange };
const scalars = {
  promise: Probability,
  promiseFull: Probability,
  promiseShare: ShareRange,
  promiseDays: DayRange,
  keep: Probability,
  payInPart: Probability,
  partShare: ShareRange,
  selfCurePerDay: Probability,
};

/** Every trait, as the default profile must give them. */
const Traits = z
  .object({
    answer: z.object(answer).strict(),
    ...scalars,
    guarantor: z.object(guarantor).strict(),
    lawyersLetter: z.object(lawyersLetter).strict(),
  })
  .strict();
export type Traits = z.infer<typeof Traits>;

/** Some traits: what a segment or a reason category changes. */
const someTraits = {
  answer: z.object(answer).partial().strict().optional(),
  ...(Object.fromEntries(Object.entries(scalars).map(([k, v]) => [k, v.optional()])) as {
    [K in keyof typeof scalars]: z.ZodOptional<(typeof scalars)[K]>;
  }),
  guarantor: z.object(guarantor).partial().strict().optional(),
  lawyersLetter: z.object(lawyersLetter).partial().strict().optional(),
};
const SomeTraits = z.object(someTraits).strict();
type SomeTraits = z.infer<typeof SomeTraits>;

const DefaultProfile = Traits.extend({ reasonMix: ReasonMix, reasons: byReason(SomeTraits).strict().default({}) }).strict();
const SegmentProfile = z
  .object({ ...someTraits, reasonMix: ReasonMix.optional(), reasons: byReason(SomeTraits).strict().optional() })
  .strict();

export const Behaviour = z
  .object({
    version: z.literal(1, 'version 1 is the only one'),
    /** The local time at which reports, promises, answers and payments reach the case (after the day's contacts). */
    reactAt: LocalTime,
    operations: z
      .object({
        /** The local time at which supervisors approve legal referrals: not reactAt (docs/simulation.md, "Timing"). */
        approveAt: LocalTime,
        /** A supervisor approves a legal referral this many days after it was asked for (at approveAt); null: never. */
        approveLegalReferralAfterDays: Days.nullable(),
        /** A visit that needs an approval is approved by its role, this many minutes after its window opens; null: never. */
        approveVisitsAfterMinutes: z.number().int().min(0).max(720).nullable(),
      })
      .strict(),
    default: DefaultProfile,
    segments: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a segment as the portfolio names it'), SegmentProfile).default({}),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.operations.approveAt === b.reactAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['operations', 'approveAt'],
        message: 'approvals come at another time than reactAt (payments): docs/simulation.md, "Timing"',
      });
    }
    // A guarantor pays or refuses, not both: the two may not add up to more than 1, in any profile.
    for (const segment of [undefined, ...Object.keys(b.segments)]) {
      for (const r of REASONS) {
        const g = traitsFor(b, segment, Number(r) as ReasonCategory).guarantor;
        if (g.pays + g.refuses > 1 + 1e-9) {
          ctx.addIssue({
            code: 'custom',
            path: segment === undefined ? ['default', 'guarantor'] : ['segments', segment, 'guarantor'],
            message: `guarantor.pays + guarantor.refuses is ${+(g.pays + g.refuses).toFixed(4)} for reason ${r}: at most 1`,
          });
          return;
        }
      }
    }
  });
export type Behaviour = z.infer<typeof Behaviour>;

function overlay(t: Traits, s: SomeTraits | undefined): Traits {
  if (!s) return t;
  const { answer: a, guarantor: g, lawyersLetter: l, ...rest } = s;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<Traits>;
  return {
    ...t,
    ...defined,
    answer: { ...t.answer, ...a },
    guarantor: { ...t.guarantor, ...g },
    lawyersLetter: { ...t.lawyersLetter, ...l },
  };
}

const traitsOnly = (p: SomeTraits & { reasonMix?: unknown; reasons?: unknown }): SomeTraits => {
  const { reasonMix: _m, reasons: _r, ...t } = p;
  return t;
};

/** The traits of a debtor of `segment` whose reason is `reason`: default, its reason, the segment, the segment's reason. */
export function traitsFor(b: Pick<Behaviour, 'default' | 'segments'>, segment: string | undefined, reason: ReasonCategory): Traits {
  const r = String(reason) as '1';
  const seg = segment !== undefined ? b.segments[segment] : undefined;
  const { reasonMix: _m, reasons, ...base } = b.default;
  return overlay(overlay(overlay(base, reasons?.[r]), seg && traitsOnly(seg)), seg?.reasons?.[r]);
}

/** The weights of the reason categories among a segment's debtors. */
export function reasonMixFor(b: Behaviour, segment: string | undefined): Record<(typeof REASONS)[number], number> {
  const mix: Partial<Record<string, number>> = (segment !== undefined ? b.segments[segment]?.reasonMix : undefined) ?? b.default.reasonMix;
  return Object.fromEntries(REASONS.map((r) => [r, mix[r] ?? 0])) as Record<(typeof REASONS)[number], number>;
}

/** A behaviour file that cannot be used: every problem, each with its line and column. */
export class BehaviourFileError extends Error {}

/** Parses and validates a behaviour file's text. */
export function parseBehaviour(text: string, fileName: string): Behaviour {
  const lines = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: lines, uniqueKeys: true });
  const where = (offset: number) => {
    const p = lines.linePos(offset);
    return `${fileName}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => `  ${where(e.pos[0])}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    throw new BehaviourFileError(`${fileName} is not valid YAML or JSON:\n${problems.join('\n')}`);
  }
  const parsed = Behaviour.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const path = i.path.map(String);
    const message = /received undefined$/.test(i.message) ? 'missing' : i.message;
    return `  ${where(offsetOf(doc, path))}: ${path.join('.') || '(the file)'}: ${message}`;
  });
  throw new BehaviourFileError(`${fileName} is not a behaviour model (docs/simulation.md):\n${problems.join('\n')}`);
}

/** Where the deepest node on `path` starts (a missing key: the mapping that lacks it). */
function offsetOf(doc: Document, path: string[]): number {
  let node: unknown = doc.contents;
  let offset = 0;
  for (const key of path) {
    const range = (node as { range?: [number, number] } | null)?.range;
    if (range) offset = range[0];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) return offset;
      node = pair.value;
      const keyRange = (pair.key as { range?: [number, number] }).range;
      if (keyRange) offset = keyRange[0];
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
    } else {
      return offset;
    }
  }
  return (node as { range?: [number, number] } | null)?.range?.[0] ?? offset;
}

export async function loadBehaviour(file: string = DEFAULT_BEHAVIOUR_FILE): Promise<{ behaviour: Behaviour; text: string }> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new BehaviourFileError(e.code === 'ENOENT' ? `no behaviour file ${file}` : `cannot read ${file}: ${e.message}`);
  });
  return { behaviour: parseBehaviour(text, file), text };
}
