/** One overdue account = one case workflow; its ID is the account's business key. */
const CASE_WORKFLOW_PREFIX = 'Case:';

export function caseWorkflowId(accountId: string): string {
  return `${CASE_WORKFLOW_PREFIX}${accountId}`;
}

export function accountIdFromWorkflowId(workflowId: string): string {
  if (!workflowId.startsWith(CASE_WORKFLOW_PREFIX)) {
    throw new Error(`not a case workflow ID: ${workflowId}`);
  }
  return workflowId.slice(CASE_WORKFLOW_PREFIX.length);
}
