import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes a supervisor filters cases by in the Temporal UI and the API's list view.
 * They must be registered on the namespace (the demo and tests do it; see docs/operations.md for a cluster).
 */
export const CaseStage = defineSearchAttributeKey('CaseStage', SearchAttributeType.KEYWORD);
export const DaysOverdue = defineSearchAttributeKey('DaysOverdue', SearchAttributeType.INT);
export const OutstandingMinor = defineSearchAttributeKey('OutstandingMinor', SearchAttributeType.INT);
export const CollectorId = defineSearchAttributeKey('CollectorId', SearchAttributeType.KEYWORD);
export const HasGuarantor = defineSearchAttributeKey('HasGuarantor', SearchAttributeType.BOOL);
export const BrokenPromises = defineSearchAttributeKey('BrokenPromises', SearchAttributeType.INT);
export const Treatment = defineSearchAttributeKey('Treatment', SearchAttributeType.KEYWORD);
/**
 * Start of the local day the oldest unpaid instalment became overdue (day 0 of its days past due).
 * "Days overdue ≥ N" is `OverdueSince <= now − (N − 1) days`: a visibility query, no daily wake-up.
 */
export const OverdueSince = defineSearchAttributeKey('OverdueSince', SearchAttributeType.DATETIME);

/** The debtor's situation (cases since 'treatments'): credit grade and segment from the lender, funds as observed. */
export const CreditGrade = defineSearchAttributeKey('CreditGrade', SearchAttributeType.KEYWORD);
export const Segment = defineSearchAttributeKey('Segment', SearchAttributeType.KEYWORD);
export const Funds = defineSearchAttributeKey('Funds', SearchAttributeType.KEYWORD);
/** The team that owns the case (cases since 'teams'). */
export const TeamId = defineSearchAttributeKey('TeamId', SearchAttributeType.KEYWORD);
/** The playbook a case started with, `<id>@<version>`, and its experiment arm, `<experimentId>:<champion|challenger>` (issue 16). */
export const Playbook = defineSearchAttributeKey('Playbook', SearchAttributeType.KEYWORD);
export const Experiment = defineSearchAttributeKey('Experiment', SearchAttributeType.KEYWORD);
/** The weekly report's status: awaiting-approval, awaiting-check, done (the weeklyReport workflow). */
export const ReportStatus = defineSearchAttributeKey('ReportStatus', SearchAttributeType.KEYWORD);

export const CASE_SEARCH_ATTRIBUTES = [
  CaseStage,
  DaysOverdue,
  OutstandingMinor,
  CollectorId,
  HasGuarantor,
  BrokenPromises,
  Treatment,
  OverdueSince,
  CreditGrade,
  Segment,
  Funds,
  TeamId,
  ReportStatus,
  Playbook,
  Experiment,
] as const;

/** The Temporal CLI's spelling of each search attribute type (`--type` of `search-attribute create`, `start-dev`). */
export const CLI_TYPE: Readonly<Record<string, string>> = {
  KEYWORD: 'Keyword',
  INT: 'Int',
  BOOL: 'Bool',
  TEXT: 'Text',
  DOUBLE: 'Double',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** `temporal server start-dev --search-attribute Name=Type` spelling of each key. */
export function searchAttributeFlags(): string[] {
  return CASE_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE[k.type]}`]);
}
