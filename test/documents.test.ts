import { createHash } from 'node:crypto';
import { extractText } from 'unpdf';
import { describe, expect, it } from 'vitest';
import { formatMoney, renderDocument, type DocumentData, type DocumentKind, type DocumentLanguage } from '../activities/documents/render';

const KINDS: DocumentKind[] = ['overdue-notice', 'statement-of-account', 'lawyers-letter', 'guarantor-demand'];
const LANGUAGES: DocumentLanguage[] = ['zh-CN', 'en'];

/** principal 1,250,000 + penalty 4,375 + fees 0 = 1,254,375 fen. */
function letter(overrides: Partial<DocumentData> = {}): DocumentData {
  return {
    kind: 'overdue-notice',
    language: 'zh-CN',
    reference: 'ON-2026-000123',
    issuedOn: '2026-03-01',
    creditor: { name: '瑞丰小额贷款有限公司', address: '浙江省杭州市西湖区文三路100号', phone: '0571-88886666' },
    debtor: { name: '王建国', idNumber: '110105198001011234', address: '浙江省杭州市拱墅区湖墅南路58号' },
    guarantor: { name: '李秀英', address: '浙江省杭州市上城区解放路12号' },
    accountId: 'ACC-0042',
    currency: 'CNY',
    dueDate: '2026-01-31',
    daysOverdue: 29,
    amounts: { principalMinor: 1_250_000, penaltyMinor: 4_375, feesMinor: 0, totalMinor: 1_254_375 },
    payments: [
      { paidAt: '2026-02-10', amountMinor: 50_000 },
      { paidAt: '2026-02-20', amountMinor: 30_000 },
    ],
    payBy: '2026-03-15',
    ...overrides,
  };
}

async function pdfText(pdf: Buffer): Promise<{ text: string; pages: number }> {
  const { text, totalPages } = await extractText(new Uint8Array(pdf), { mergePages: true });
  return { text, pages: totalPages };
}

const squeeze = (s: string) => s.replace(/\s+/g, '');

/** Renders, extracts the PDF's text, and checks the PDF holds exactly the audit text on one page. */
async function renderAndRead(data: DocumentData) {
  const rendered = await renderDocument(data);
  expect(rendered.pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  const extracted = await pdfText(rendered.pdf);
  expect(extracted.pages).toBe(1);
  // Line wrapping is layout: apart from whitespace the PDF carries exactly the audit text.
  expect(squeeze(extracted.text)).toBe(squeeze(rendered.text));
  return { ...rendered, extracted: extracted.text };
}

describe('formatMoney', () => {
  it('groups thousands and prints the minor digits, in both languages', () => {
    expect(formatMoney(1_234_567, 'CNY', 'zh-CN')).toBe('¥12,345.67');
    expect(formatMoney(1_234_567, 'CNY', 'en')).toBe('CNY 12,345.67');
    expect(formatMoney(0, 'CNY', 'zh-CN')).toBe('¥0.00');
    expect(formatMoney(0, 'CNY', 'en')).toBe('CNY 0.00');
    expect(formatMoney(5, 'CNY', 'zh-CN')).toBe('¥0.05');
    expect(formatMoney(100, 'CNY', 'en')).toBe('CNY 1.00');
    expect(formatMoney(99_999, 'CNY', 'en')).toBe('CNY 999.99');
    expect(formatMoney(100_000, 'CNY', 'en')).toBe('CNY 1,000.00');
    expect(formatMoney(1_250_000, 'CNY', 'zh-CN')).toBe('¥12,500.00');
    expect(formatMoney(4_375, 'CNY', 'zh-CN')).toBe('¥43.75');
  });

  it('is exact at Number.MAX_SAFE_INTEGER', () => {
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'CNY', 'zh-CN')).toBe('¥90,071,992,547,409.91');
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'USD', 'en')).toBe('USD 90,071,992,547,409.91');
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'JPY', 'en')).toBe('JPY 9,007,199,254,740,991');
  });

  it('knows the currencies with 0 and 3 minor digits', () => {
    expect(formatMoney(1_234_567, 'JPY', 'en')).toBe('JPY 1,234,567');
    expect(formatMoney(5, 'JPY', 'en')).toBe('JPY 5');
    expect(formatMoney(0, 'JPY', 'en')).toBe('JPY 0');
    expect(formatMoney(1_234_567, 'JPY', 'zh-CN')).toBe('JP¥1,234,567');
    expect(formatMoney(1_234_567, 'KWD', 'en')).toBe('KWD 1,234.567');
    expect(formatMoney(5, 'KWD', 'en')).toBe('KWD 0.005');
    expect(formatMoney(1_234_567, 'USD', 'zh-CN')).toBe('US$12,345.67');
    expect(formatMoney(1_234_567, 'CHF', 'zh-CN')).toBe('CHF 12,345.67'); // no symbol: the code
  });

  it('refuses negative, fractional, unsafe and non-numeric amounts and bad currency codes', () => {
    expect(() => formatMoney(-1, 'CNY', 'zh-CN')).toThrow(RangeError);
    expect(() => formatMoney(-1_234_567, 'CNY', 'en')).toThrow(RangeError);
    expect(() => formatMoney(1.5, 'CNY', 'en')).toThrow(RangeError);
    expect(() => formatMoney(Number.MAX_SAFE_INTEGER + 1, 'CNY', 'en')).toThrow(RangeError);
    expect(() => formatMoney(Number.NaN, 'CNY', 'en')).toThrow(RangeError);
    expect(() => formatMoney(Number.POSITIVE_INFINITY, 'CNY', 'en')).toThrow(RangeError);
    expect(() => formatMoney(100, 'cny', 'en')).toThrow(RangeError);
    expect(() => formatMoney(100, 'YUAN', 'en')).toThrow(RangeError);
  });
});

describe('renderDocument: the overdue notice for 王建国', () => {
  it('zh-CN: the PDF text names the debtor and the reference and prints each amount', async () => {
    const r = await renderAndRead(letter());
    for (const needle of ['催收函', '王建国', 'ON-2026-000123', '¥12,500.00', '¥43.75', '¥0.00', '¥12,543.75']) {
      expect(r.extracted, needle).toContain(needle);
      expect(r.text, needle).toContain(needle);
    }
    for (const needle of [
      '尊敬的王建国：',
      '截至2026年3月1日',
      '逾期29天',
      '本金',
      '罚息',
      '费用',
      '合计',
      '请于2026年3月15日前还款',
      '逾期时间越长',
    ]) {
      expect(r.text, needle).toContain(needle);
    }
    expect(r.text).toContain('本金\t¥12,500.00\n罚息\t¥43.75\n费用\t¥0.00\n合计\t¥12,543.75');
    // The identity number is masked but for its last four characters.
    expect(r.text).toContain('**************1234');
    expect(r.text).not.toContain('110105198001011234');
  });

  it('en: the PDF text names the debtor and the reference and prints each amount', async () => {
    const r = await renderAndRead(letter({ language: 'en' }));
    for (const needle of ['OVERDUE NOTICE', '王建国', 'ON-2026-000123', 'CNY 12,500.00', 'CNY 43.75', 'CNY 0.00', 'CNY 12,543.75']) {
      expect(r.extracted, needle).toContain(needle);
    }
    for (const needle of ['Dear 王建国,', 'As of 1 March 2026', '29 days overdue', 'by 15 March 2026', 'Total due\tCNY 12,543.75']) {
      expect(r.text, needle).toContain(needle);
    }
  });

  it('without payBy asks for payment on receipt', async () => {
    const zh = await renderDocument(letter({ payBy: undefined }));
    expect(zh.text).toContain('请于收到本函后立即还款');
    const en = await renderDocument(letter({ language: 'en', payBy: undefined }));
    expect(en.text).toContain('immediately upon receipt of this letter');
  });
});

describe('renderDocument: every kind in both languages', () => {
  const KEY_TEXTS: Record<DocumentLanguage, Record<DocumentKind, string[]>> = {
    'zh-CN': {
      'overdue-notice': ['催收函', '尊敬的王建国：', '逾期时间越长'],
      'statement-of-account': ['对账单', '还款记录', '2026年2月10日\t¥500.00', '2026年2月20日\t¥300.00', '书面回复确认'],
      'lawyers-letter': ['律师函', '委托', '提起诉讼', '财产保全'],
      'guarantor-demand': ['担保代偿通知', '致：李秀英（担保人）', '尊敬的李秀英：', '担保人', '代债务人偿还'],
    },
    en: {
      'overdue-notice': ['OVERDUE NOTICE', 'Dear 王建国,', 'The longer the account remains overdue'],
      'statement-of-account': [
        'STATEMENT OF ACCOUNT',
        'Payments received',
        '10 February 2026\tCNY 500.00',
        '20 February 2026\tCNY 300.00',
        'confirm it in writing',
      ],
      'lawyers-letter': ["LAWYER'S LETTER", 'on the instructions of 瑞丰小额贷款有限公司', 'legal proceedings'],
      'guarantor-demand': ['DEMAND ON GUARANTOR', 'To: 李秀英 (guarantor)', 'Dear 李秀英,', "in the Debtor's place"],
    },
  };

  for (const language of LANGUAGES) {
    for (const kind of KINDS) {
      it(`${kind} (${language})`, async () => {
        const r = await renderAndRead(letter({ kind, language }));
        const total = formatMoney(1_254_375, 'CNY', language);
        for (const needle of [...KEY_TEXTS[language][kind], 'ON-2026-000123', '王建国', total]) {
          expect(r.text, needle).toContain(needle);
          expect(squeeze(r.extracted), needle).toContain(squeeze(needle));
        }
        expect(r.contentHash).toBe(createHash('sha256').update(r.text, 'utf8').digest('hex'));
      });
    }
  }

  it('the guarantor demand names the debtor it stands for, and needs a guarantor', async () => {
    const r = await renderDocument(letter({ kind: 'guarantor-demand' }));
    expect(r.text).toContain('您是王建国（以下简称“债务人”）');
    await expect(renderDocument(letter({ kind: 'guarantor-demand', guarantor: undefined }))).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
  });

  it('a statement with no payments says so', async () => {
    const zh = await renderDocument(letter({ kind: 'statement-of-account', payments: [] }));
    expect(zh.text).toContain('无还款记录');
    const en = await renderDocument(letter({ kind: 'statement-of-account', language: 'en', payments: undefined }));
    expect(en.text).toContain('No payments have been received');
  });

  it('other currencies print with their own minor digits', async () => {
    const r = await renderAndRead(
      letter({
        language: 'en',
        currency: 'JPY',
        amounts: { principalMinor: 125_000, penaltyMinor: 437, feesMinor: 1_000, totalMinor: 126_437 },
      }),
    );
    expect(r.extracted).toContain('JPY 126,437');
  });
});

describe('renderDocument: amounts and input checks', () => {
  it('throws InconsistentAmounts when the total is not principal + penalty + fees', async () => {
    const bad = letter({ amounts: { principalMinor: 1_250_000, penaltyMinor: 4_375, feesMinor: 0, totalMinor: 1_254_376 } });
    await expect(renderDocument(bad)).rejects.toMatchObject({ type: 'InconsistentAmounts', nonRetryable: true });
    await expect(renderDocument(bad)).rejects.toThrow(/1254376/);
    // A sum beyond 2^53 is compared exactly, not rounded into agreement.
    const huge = letter({
      amounts: { principalMinor: Number.MAX_SAFE_INTEGER, penaltyMinor: 1, feesMinor: 0, totalMinor: Number.MAX_SAFE_INTEGER },
    });
    await expect(renderDocument(huge)).rejects.toMatchObject({ type: 'InconsistentAmounts', nonRetryable: true });
  });

  it('refuses negative or fractional amounts and malformed dates', async () => {
    await expect(
      renderDocument(letter({ amounts: { principalMinor: -100, penaltyMinor: 100, feesMinor: 0, totalMinor: 0 } })),
    ).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    await expect(
      renderDocument(letter({ amounts: { principalMinor: 100.5, penaltyMinor: 0, feesMinor: 0, totalMinor: 100.5 } })),
    ).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    await expect(renderDocument(letter({ issuedOn: '2026-02-30' }))).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    await expect(renderDocument(letter({ payBy: '15/03/2026' }))).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    await expect(renderDocument(letter({ debtor: { name: '王建国\n李秀英' } }))).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
  });

  it('refuses a character the font cannot print rather than printing a blank box', async () => {
    await expect(renderDocument(letter({ debtor: { name: '王建国😀' } }))).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
  });

  it('prints other common names', async () => {
    const r = await renderAndRead(letter({ debtor: { name: '李秀英' }, guarantor: { name: '张伟' }, kind: 'guarantor-demand' }));
    expect(r.extracted).toContain('李秀英');
    expect(r.extracted).toContain('张伟');
  });
});

describe('renderDocument: contentHash', () => {
  it('is the same for two renders of the same data and changes with an amount', async () => {
    const a = await renderDocument(letter());
    const b = await renderDocument(letter());
    expect(a.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.contentHash).toBe(a.contentHash);
    expect(b.text).toBe(a.text);

    const c = await renderDocument(
      letter({ amounts: { principalMinor: 1_250_000, penaltyMinor: 4_376, feesMinor: 0, totalMinor: 1_254_376 } }),
    );
    expect(c.contentHash).not.toBe(a.contentHash);

    const en = await renderDocument(letter({ language: 'en' }));
    expect(en.contentHash).not.toBe(a.contentHash);
  });
});
