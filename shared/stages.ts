/**
 * The stages of a case, in one place; the last four end it. `restructured`: a restructuring plan
 * holds (the ladder is paused). Plain data: the workflow bundle imports it.
 */
export const CASE_STAGES = ['open', 'legal', 'restructured', 'paid', 'settled', 'written-off', 'legal-closed'] as const;
export type CaseStage = (typeof CASE_STAGES)[number];
export const END_STAGES: ReadonlySet<CaseStage> = new Set<CaseStage>(['paid', 'settled', 'written-off', 'legal-closed']);
