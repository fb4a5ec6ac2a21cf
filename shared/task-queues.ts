/** Default task queue for case workflows and their activities; overridable by RECOUP_TASK_QUEUE. */
export const DEFAULT_CASE_TASK_QUEUE = 'recoup-cases';
