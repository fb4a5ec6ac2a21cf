/** ApplicationFailure types raised by activities and workflows; the API and retry policies match on them. */
export const ErrorTypes = {
  CurrencyMismatch: 'CurrencyMismatch',
  InvalidInput: 'InvalidInput',
  ReconciliationMismatch: 'ReconciliationMismatch',
  CaseClosed: 'CaseClosed',
  CaseNotFound: 'CaseNotFound',
  InvalidRecipient: 'InvalidRecipient',
  ChannelRejected: 'ChannelRejected',
  InconsistentAmounts: 'InconsistentAmounts',
} as const;
export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];
