/**
 * Renders the collection letters (overdue notice 催收函, statement of account 对账单, lawyer's letter
 * 律师函, demand on guarantor 担保代偿通知) in Simplified Chinese or English, as a PDF plus the exact
 * text laid out in it, for the audit trail.
 *
 * - Every amount on a letter comes from `data.amounts`, which the caller has reconciled with the
 *   ledger (对账); the renderer checks that the total is the sum of its parts and computes nothing.
 * - The PDF is drawn with pdfkit in Noto Sans (Simplified Chinese, from @embedpdf/fonts-sc, SIL OFL
 *   1.1), embedded as a subset of the glyphs used, so the text can be extracted from it.
 * - `text` is every string placed on the page, in order: one line per block (a wrapped paragraph is
 *   one line), table cells joined by a tab. `contentHash` is its SHA-256; the PDF bytes carry the
 *   creation date and are never hashed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../shared/errors';
import { formatMinor } from '../../shared/money';
import { TEMPLATES } from './templates';
import type { Block, DocumentData, DocumentKind, DocumentLanguage, LetterFields, RenderedDocument } from './types';

export type { DocumentData, DocumentKind, DocumentLanguage, RenderedDocument } from './types';

// ---------------------------------------------------------------------------------------------
// Money

/** Symbols printed before the amount on zh-CN letters; other currencies print their code. */
const ZH_SYMBOLS: Readonly<Record<string, string>> = {
  CNY: '¥',
  USD: 'US$',
  HKD: 'HK$',
  EUR: '€',
  GBP: '£',
  JPY: 'JP¥',
};

/** A letter that cannot be rendered from this data: retrying cannot help, the data must change. */
function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorTypes.InvalidInput);
}

/**
 * An amount in minor units as printed on a letter, in integer arithmetic only:
 * 1234567 CNY → '¥12,345.67' (zh-CN) / 'CNY 12,345.67' (en). Amounts are non-negative safe integers.
 */
export function formatMoney(minor: number, currency: string, language: DocumentLanguage): string {
  if (!Number.isSafeInteger(minor) || minor < 0) {
    throw new RangeError(`an amount must be a non-negative safe integer of minor units, got ${String(minor)}`);
  }
  const number = formatMinor(minor, currency);
  if (language === 'zh-CN') {
    const symbol = ZH_SYMBOLS[currency];
    return symbol ? `${symbol}${number}` : `${currency} ${number}`;
  }
  if (language === 'en') return `${currency} ${number}`;
  throw new RangeError(`unknown language: ${String(language)}`);
}

// ---------------------------------------------------------------------------------------------
// Validation

const KINDS: ReadonlySet<string> = new Set<DocumentKind>(['overdue-notice', 'statement-of-account', 'lawyers-letter', 'guarantor-demand']);

function parseDate(value: unknown, field: string): { year: number; month: number; day: number } {
  const m = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const probe = new Date(Date.UTC(year, month - 1, day));
    if (probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day) return { year, month, day };
  }
  throw invalidInput(`${field} must be a calendar date 'YYYY-MM-DD', got ${JSON.stringify(value)}`);
}

/** A printed string: non-empty, one line, no control characters. */
function printable(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidInput(`${field} must be a non-empty string`);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value)) throw invalidInput(`${field} must be one line without control characters`);
  return value.trim();
}

function optionalPrintable(value: unknown, field: string): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : printable(value, field);
}

function amount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidInput(`${field} must be a non-negative integer of minor units, got ${String(value)}`);
  }
  return value;
}

/** All but the last four characters of an identity number are masked on the letter. */
function maskId(id: string): string {
  const visible = Math.min(4, Math.max(0, id.length - 4));
  return '*'.repeat(id.length - visible) + id.slice(id.length - visible);
}

function checkAmounts(a: DocumentData['amounts']): void {
  if (typeof a !== 'object' || a === null) throw invalidInput('amounts are required');
  const principal = amount(a.principalMinor, 'amounts.principalMinor');
  const penalty = amount(a.penaltyMinor, 'amounts.penaltyMinor');
  const fees = amount(a.feesMinor, 'amounts.feesMinor');
  const total = amount(a.totalMinor, 'amounts.totalMinor');
  if (BigInt(total) !== BigInt(principal) + BigInt(penalty) + BigInt(fees)) {
    throw ApplicationFailure.nonRetryable(
      `totalMinor ${total} is not principal ${principal} + penalty ${penalty} + fees ${fees}: ` +
        'reconcile the amounts with the ledger before rendering',
      ErrorTypes.InconsistentAmounts,
    );
  }
}

function fieldsOf(data: DocumentData): LetterFields {
  if (typeof data !== 'object' || data === null) throw invalidInput('document data is required');
  if (!KINDS.has(data.kind)) throw invalidInput(`unknown document kind: ${JSON.stringify(data.kind)}`);
  if (data.language !== 'zh-CN' && data.language !== 'en') throw invalidInput(`unknown language: ${JSON.stringify(data.language)}`);
  const templates = TEMPLATES[data.language];
  checkAmounts(data.amounts);
  if (!/^[A-Z]{3}$/.test(String(data.currency)))
    throw invalidInput(`currency must be an ISO 4217 code, got ${JSON.stringify(data.currency)}`);
  if (!Number.isSafeInteger(data.daysOverdue) || data.daysOverdue < 0) {
    throw invalidInput(`daysOverdue must be a non-negative integer, got ${String(data.daysOverdue)}`);
  }
  const date = (value: unknown, field: string) => {
    const d = parseDate(value, field);
    return templates.formatDate(d.year, d.month, d.day);
  };
  const money = (minor: number) => formatMoney(minor, data.currency, data.language);

  if (typeof data.creditor !== 'object' || data.creditor === null) throw invalidInput('creditor is required');
  if (typeof data.debtor !== 'object' || data.debtor === null) throw invalidInput('debtor is required');
  const creditor = {
    name: printable(data.creditor.name, 'creditor.name'),
    address: optionalPrintable(data.creditor.address, 'creditor.address'),
    phone: optionalPrintable(data.creditor.phone, 'creditor.phone'),
  };
  const idNumber = optionalPrintable(data.debtor.idNumber, 'debtor.idNumber');
  const debtor = {
    name: printable(data.debtor.name, 'debtor.name'),
    idNumber: idNumber === undefined ? undefined : maskId(idNumber),
    address: optionalPrintable(data.debtor.address, 'debtor.address'),
  };
  let guarantor: LetterFields['guarantor'];
  if (data.guarantor !== undefined && data.guarantor !== null) {
    guarantor = {
      name: printable(data.guarantor.name, 'guarantor.name'),
      address: optionalPrintable(data.guarantor.address, 'guarantor.address'),
    };
  } else if (data.kind === 'guarantor-demand') {
    throw invalidInput('a guarantor demand needs the guarantor');
  }
  if (data.payments !== undefined && data.payments !== null && !Array.isArray(data.payments)) throw invalidInput('payments must be a list');
  const payments = (data.payments ?? []).map((p, i) => ({
    paidAt: date(p?.paidAt, `payments[${i}].paidAt`),
    amount: money(amount(p?.amountMinor, `payments[${i}].amountMinor`)),
  }));

  return {
    kind: data.kind,
    reference: printable(data.reference, 'reference'),
    issuedOn: date(data.issuedOn, 'issuedOn'),
    creditor,
    debtor,
    guarantor,
    accountId: printable(data.accountId, 'accountId'),
    currency: data.currency,
    dueDate: date(data.dueDate, 'dueDate'),
    daysOverdue: data.daysOverdue,
    principal: money(data.amounts.principalMinor),
    penalty: money(data.amounts.penaltyMinor),
    fees: money(data.amounts.feesMinor),
    total: money(data.amounts.totalMinor),
    payments,
    payBy: data.payBy === undefined || data.payBy === null ? undefined : date(data.payBy, 'payBy'),
  };
}

// ---------------------------------------------------------------------------------------------
// Fonts

interface Fonts {
  regular: Buffer;
  bold: Buffer;
  /** Whether both faces have a glyph for a code point. */
  covers(codePoint: number): boolean;
}

let fonts: Fonts | undefined;

/** Noto Sans Simplified Chinese (SIL OFL 1.1), shipped as OTF files by @embedpdf/fonts-sc. Read once. */
export function loadFonts(): Fonts {
  if (fonts) return fonts;
  const require = createRequire(import.meta.url);
  // The package exports only its index (in dist/); the OTF files sit in fonts/ beside it.
  const dir = path.join(path.dirname(require.resolve('@embedpdf/fonts-sc')), '..', 'fonts');
  const regular = readFileSync(path.join(dir, 'NotoSansHans-Regular.otf'));
  const bold = readFileSync(path.join(dir, 'NotoSansHans-Bold.otf'));
  const faces = [regular, bold].map((buffer) => {
    const font = fontkit.create(buffer);
    if (!('hasGlyphForCodePoint' in font)) throw new Error('expected a single font, not a collection');
    return font;
  });
  const seen = new Map<number, boolean>();
  fonts = {
    regular,
    bold,
    covers(codePoint) {
      let ok = seen.get(codePoint);
      if (ok === undefined) {
        ok = faces.every((f) => f.hasGlyphForCodePoint(codePoint));
        seen.set(codePoint, ok);
      }
      return ok;
    },
  };
  return fonts;
}

// ---------------------------------------------------------------------------------------------
// Layout

/** The audit text of the blocks: one line per block, table cells joined by a tab. */
function textOf(blocks: Block[]): string {
  const lines: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'rule':
        break;
      case 'gap':
        lines.push('');
        break;
      case 'table':
        lines.push(b.header.join('\t'), ...b.rows.map((r) => r.join('\t')));
        break;
      default:
        lines.push(b.text);
    }
  }
  return lines.join('\n');
}

const PAGE = { size: 'A4', margin: { top: 56, bottom: 56, left: 64, right: 64 } } as const;
const SIZE = { letterhead: 13, note: 9, title: 18, body: 10.5 } as const;
const LINE_GAP = 4;
const TABLE = { indent: 21, width: 300, rowHeight: 18 } as const;

function layout(doc: PDFKit.PDFDocument, blocks: Block[], language: DocumentLanguage): void {
  const left = PAGE.margin.left;
  const width = doc.page.width - PAGE.margin.left - PAGE.margin.right;
  const indent = language === 'zh-CN' ? 2 * SIZE.body : 0; // 首行缩进两字
  const bottom = () => doc.page.height - PAGE.margin.bottom;

  for (const b of blocks) {
    doc.x = left;
    switch (b.type) {
      case 'letterhead':
        doc.font('bold').fontSize(SIZE.letterhead).fillColor('black').text(b.text, left, doc.y, { width });
        break;
      case 'note':
        doc.font('regular').fontSize(SIZE.note).fillColor('#444444').text(b.text, left, doc.y, { width });
        doc.fillColor('black');
        break;
      case 'rule': {
        const y = doc.y + 4;
        doc
          .moveTo(left, y)
          .lineTo(left + width, y)
          .lineWidth(0.8)
          .strokeColor('#000000')
          .stroke();
        doc.y = y + 14;
        break;
      }
      case 'title':
        doc.font('bold').fontSize(SIZE.title).text(b.text, left, doc.y, { width, align: 'center' });
        doc.moveDown(0.6);
        break;
      case 'meta':
        doc.font('regular').fontSize(SIZE.body).text(b.text, left, doc.y, { width, align: 'right', lineGap: 2 });
        break;
      case 'line':
        doc.font('regular').fontSize(SIZE.body).text(b.text, left, doc.y, { width, lineGap: LINE_GAP });
        break;
      case 'paragraph':
        doc.font('regular').fontSize(SIZE.body).text(b.text, left, doc.y, { width, indent, lineGap: LINE_GAP, paragraphGap: 4 });
        break;
      case 'signature':
        doc.font('regular').fontSize(SIZE.body).text(b.text, left, doc.y, { width, align: 'right', lineGap: LINE_GAP });
        break;
      case 'gap':
        doc.font('regular').fontSize(SIZE.body).moveDown(0.8);
        break;
      case 'table': {
        const x0 = left + TABLE.indent;
        const x1 = x0 + TABLE.width;
        let y = doc.y + 4;
        const row = (cells: [string, string], font: 'regular' | 'bold', color = 'black') => {
          if (y + TABLE.rowHeight > bottom()) {
            doc.addPage();
            y = PAGE.margin.top;
          }
          doc.font(font).fontSize(SIZE.body).fillColor(color);
          doc.text(cells[0], x0, y, { lineBreak: false });
          doc.text(cells[1], x1 - doc.widthOfString(cells[1]), y, { lineBreak: false });
          y += TABLE.rowHeight;
        };
        /** A horizontal rule just above the next row. */
        const rule = (lineWidth: number, color: string) =>
          doc
            .moveTo(x0, y - 3)
            .lineTo(x1, y - 3)
            .lineWidth(lineWidth)
            .strokeColor(color)
            .stroke();
        row(b.header, 'regular', '#444444');
        rule(0.5, '#888888');
        b.rows.forEach((cells, i) => {
          const isTotal = b.total === true && i === b.rows.length - 1;
          if (isTotal) rule(0.8, '#000000');
          row(cells, isTotal ? 'bold' : 'regular');
        });
        doc.fillColor('black');
        doc.x = left;
        doc.y = y + 6;
        break;
      }
    }
  }
}

/** The PDF's bytes once pdfkit has written them (the letters' and the weekly report's). */
export function toBuffer(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/** Renders one letter: the PDF, the exact text laid out in it, and that text's SHA-256. */
export async function renderDocument(data: DocumentData): Promise<RenderedDocument> {
  const fields = fieldsOf(data);
  const blocks = TEMPLATES[data.language].letter(fields);
  const text = textOf(blocks);

  const { regular, bold, covers } = loadFonts();
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp !== 0x0a && cp !== 0x09 && !covers(cp)) {
      throw invalidInput(`the letter's font has no glyph for ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`);
    }
  }

  const title = blocks.find((b): b is Extract<Block, { type: 'title' }> => b.type === 'title')?.text ?? data.kind;
  const doc = new PDFDocument({
    size: PAGE.size,
    margins: PAGE.margin,
    lang: data.language,
    displayTitle: true,
    info: { Title: `${title} ${fields.reference}`, Author: fields.creditor.name, Subject: fields.reference, Creator: 'Recoup' },
  });
  const pdf = toBuffer(doc);
  doc.registerFont('regular', regular);
  doc.registerFont('bold', bold);
  layout(doc, blocks, data.language);
  doc.end();

  return { pdf: await pdf, text, contentHash: createHash('sha256').update(text, 'utf8').digest('hex') };
}
