/**
 * The types the renderer (render.ts) and the wording (templates.ts) share: the document's data and
 * what is rendered from it, and the layout blocks a template produces. Here, so that neither file
 * imports the other for its types (render.ts imports the templates; templates.ts imports nothing of
 * render.ts).
 */

export type DocumentKind = 'overdue-notice' | 'statement-of-account' | 'lawyers-letter' | 'guarantor-demand';
export type DocumentLanguage = 'zh-CN' | 'en';

export interface DocumentData {
  kind: DocumentKind;
  language: DocumentLanguage;
  /** e.g. 'ON-2026-000123', printed on the letter. */
  reference: string;
  /** 'YYYY-MM-DD'. */
  issuedOn: string;
  creditor: { name: string; address?: string; phone?: string };
  debtor: { name: string; idNumber?: string; address?: string };
  /** Required for 'guarantor-demand'. */
  guarantor?: { name: string; address?: string };
  accountId: string;
  /** ISO 4217, e.g. CNY. */
  currency: string;
  dueDate: string;
  daysOverdue: number;
  /** Integers, minor units, reconciled with the ledger by the caller. */
  amounts: { principalMinor: number; penaltyMinor: number; feesMinor: number; totalMinor: number };
  /** Listed on the statement of account. */
  payments?: Array<{ paidAt: string; amountMinor: number }>;
  /** 'YYYY-MM-DD' deadline stated in the letter. */
  payBy?: string;
}

export interface RenderedDocument {
  pdf: Buffer;
  /** The exact text laid out in the PDF (for audit). */
  text: string;
  /** SHA-256 (hex) of `text`: stable across renders of the same data. */
  contentHash: string;
}

/** One piece of a letter, top to bottom. Each string is printed exactly as it is here. */
export type Block =
  /** The creditor's name at the top (bold). */
  | { type: 'letterhead'; text: string }
  /** A small line under the letterhead: address, phone. */
  | { type: 'note'; text: string }
  /** A horizontal rule (no text). */
  | { type: 'rule' }
  /** The document's title, centred and bold. */
  | { type: 'title'; text: string }
  /** Reference and date, right-aligned. */
  | { type: 'meta'; text: string }
  /** A single line, left-aligned (addressee, salutation). */
  | { type: 'line'; text: string }
  /** Body text; wraps. */
  | { type: 'paragraph'; text: string }
  /** Two columns: label and right-aligned value; `total` sets the last row in bold under a rule. */
  | { type: 'table'; header: [string, string]; rows: Array<[string, string]>; total?: boolean }
  /** Closing lines and signature, right-aligned. */
  | { type: 'signature'; text: string }
  /** An empty line. */
  | { type: 'gap' };

/**
 * What a template prints: the document's data with every value already formatted for the letter's
 * language (the debtor's idNumber arrives masked: all but its last four characters).
 */
export type LetterFields = Omit<DocumentData, 'language' | 'amounts' | 'payments' | 'payBy'> & {
  principal: string;
  penalty: string;
  fees: string;
  total: string;
  payments: Array<{ paidAt: string; amount: string }>;
  payBy?: string;
};

export interface LanguageTemplates {
  /** A calendar date (already validated) as the letter prints it. */
  formatDate(year: number, month: number, day: number): string;
  /** The letter's blocks, top to bottom. */
  letter(f: LetterFields): Block[];
}
