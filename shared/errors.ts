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
  /** A payment id the ledger already holds for another account (or case): refused, never applied to one side only. */
  PaymentIdConflict: 'PaymentIdConflict',
  /** A letter that cannot go out as asked (no address, a name the font cannot print): fix the data, then it can run. */
  LetterNotPossible: 'LetterNotPossible',
} as const;
