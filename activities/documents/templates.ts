/**
 * The wording of the collection letters, in Simplified Chinese and English.
 *
 * A template turns already formatted fields (money through formatMoney, dates through the
 * language's formatDate) into layout blocks; render.ts lays the blocks out in the PDF and writes
 * the same strings, one block a line, into the audit text. Templates compute nothing: every amount
 * they print arrives formatted from the caller's reconciled `amounts`.
 *
 * Each letter fits on one A4 page.
 */
import type { Block, DocumentKind, DocumentLanguage, LanguageTemplates, LetterFields } from './types';

export type { LanguageTemplates } from './types';

function guarantorOf(f: LetterFields): { name: string; address?: string } {
  if (!f.guarantor) throw new Error('a guarantor demand needs the guarantor');
  return f.guarantor;
}

// ---------------------------------------------------------------------------------------------
// 简体中文

const ZH_TITLES: Record<DocumentKind, string> = {
  'overdue-notice': '催收函',
  'statement-of-account': '对账单',
  'lawyers-letter': '律师函',
  'guarantor-demand': '担保代偿通知',
};

function zhHead(f: LetterFields, to: { name: string; address?: string; idNumber?: string }, role?: string): Block[] {
  const blocks: Block[] = [{ type: 'letterhead', text: f.creditor.name }];
  const contact = [f.creditor.address && `地址：${f.creditor.address}`, f.creditor.phone && `电话：${f.creditor.phone}`].filter(Boolean);
  if (contact.length > 0) blocks.push({ type: 'note', text: contact.join('　') });
  blocks.push(
    { type: 'rule' },
    { type: 'title', text: ZH_TITLES[f.kind] },
    { type: 'meta', text: `编号：${f.reference}` },
    { type: 'meta', text: `日期：${f.issuedOn}` },
    { type: 'line', text: role ? `致：${to.name}（${role}）` : `致：${to.name}` },
  );
  if (to.idNumber) blocks.push({ type: 'line', text: `证件号码：${to.idNumber}` });
  if (to.address) blocks.push({ type: 'line', text: `地址：${to.address}` });
  blocks.push({ type: 'gap' });
  return blocks;
}

function zhAmounts(f: LetterFields): Block {
  return {
    type: 'table',
    header: ['项目', `金额（${f.currency}）`],
    rows: [
      ['本金', f.principal],
      ['罚息', f.penalty],
      ['费用', f.fees],
      ['合计', f.total],
    ],
    total: true,
  };
}

function zhSignature(f: LetterFields, prefix = ''): Block[] {
  return [{ type: 'gap' }, { type: 'signature', text: `${prefix}${f.creditor.name}` }, { type: 'signature', text: f.issuedOn }];
}

const zhCN: LanguageTemplates = {
  formatDate: (y, m, d) => `${y}年${m}月${d}日`,

  letter(f) {
    const account = `账户编号：${f.accountId}`;
    switch (f.kind) {
      case 'overdue-notice':
        return [
          ...zhHead(f, f.debtor),
          { type: 'line', text: `尊敬的${f.debtor.name}：` },
          {
            type: 'paragraph',
            text: `您在我司的账户（${account}）应于${f.dueDate}还款。截至${f.issuedOn}，该账户已逾期${f.daysOverdue}天。经与我司台帐核对，您尚欠款项如下：`,
          },
          zhAmounts(f),
          {
            type: 'paragraph',
            text: f.payBy ? `请于${f.payBy}前还款，结清上述全部欠款。` : '请于收到本函后立即还款，结清上述全部欠款。',
          },
          {
            type: 'paragraph',
            text: '逾期时间越长，您承担的违约责任越大，产生的罚息越多；逾期记录将依法报送征信系统，影响您的信用记录。',
          },
          {
            type: 'paragraph',
            text: `如您还款确有困难，请及时与我司联系${f.creditor.phone ? `（电话：${f.creditor.phone}）` : ''}，协商还款安排。如您已结清上述款项，请忽略本函。`,
          },
          { type: 'paragraph', text: '特此函告。' },
          ...zhSignature(f),
        ];

      case 'statement-of-account': {
        const payments: Block =
          f.payments.length > 0
            ? { type: 'table', header: ['还款日期', `还款金额（${f.currency}）`], rows: f.payments.map((p) => [p.paidAt, p.amount]) }
            : { type: 'paragraph', text: '截至本对账单日，该账户无还款记录。' };
        return [
          ...zhHead(f, f.debtor),
          { type: 'line', text: `尊敬的${f.debtor.name}：` },
          {
            type: 'paragraph',
            text: `现将您在我司账户（${account}）截至${f.issuedOn}的往来情况列示如下，请予核对。该账户应于${f.dueDate}还款，已逾期${f.daysOverdue}天。`,
          },
          { type: 'line', text: '一、还款记录' },
          payments,
          { type: 'line', text: '二、尚欠款项' },
          zhAmounts(f),
          {
            type: 'paragraph',
            text: f.payBy
              ? `请核对上述账目，并于${f.payBy}前书面回复确认；如有异议，请在该日期前提出并附相关凭证。如无异议，请于${f.payBy}前还款，结清全部欠款。`
              : '请核对上述账目，并于收到本对账单后书面回复确认；如有异议，请附相关凭证。如无异议，请立即还款，结清全部欠款。',
          },
          {
            type: 'paragraph',
            text: '逾期时间越长，您承担的违约责任越大，产生的罚息越多。',
          },
          ...zhSignature(f),
        ];
      }

      case 'lawyers-letter':
        return [
          ...zhHead(f, f.debtor),
          { type: 'line', text: `${f.debtor.name}：` },
          {
            type: 'paragraph',
            text: `本函受${f.creditor.name}（以下简称“委托人”）委托，现就您拖欠委托人款项一事，郑重函告如下：`,
          },
          {
            type: 'paragraph',
            text: `您在委托人处的账户（${account}）应于${f.dueDate}还款。截至${f.issuedOn}，该账户已逾期${f.daysOverdue}天，经委托人多次催收，您仍未清偿。经核对，您尚欠委托人款项如下：`,
          },
          zhAmounts(f),
          {
            type: 'paragraph',
            text: f.payBy ? `请您于${f.payBy}前还款，向委托人付清上述全部欠款。` : '请您于收到本函后立即还款，向委托人付清上述全部欠款。',
          },
          {
            type: 'paragraph',
            text: '逾期仍未付清的，委托人将依法向人民法院提起诉讼，并申请财产保全（查封、冻结您的财产）；由此产生的诉讼费、保全费、律师费等全部费用及一切不利后果，均由您承担。逾期时间越长，您的责任越大，罚息越多。',
          },
          { type: 'paragraph', text: '特此函告。' },
          ...zhSignature(f, '委托人：'),
        ];

      case 'guarantor-demand': {
        const g = guarantorOf(f);
        return [
          ...zhHead(f, g, '担保人'),
          { type: 'line', text: `尊敬的${g.name}：` },
          {
            type: 'paragraph',
            text:
              `您是${f.debtor.name}（以下简称“债务人”）在我司账户（${account}）项下债务的担保人。` +
              `债务人应于${f.dueDate}还款，截至${f.issuedOn}已逾期${f.daysOverdue}天，经我司催收仍未清偿。债务人尚欠款项如下：`,
          },
          zhAmounts(f),
          {
            type: 'paragraph',
            text: f.payBy
              ? `根据担保约定，现要求您履行担保责任，于${f.payBy}前代债务人偿还上述全部欠款。`
              : '根据担保约定，现要求您履行担保责任，于收到本通知后立即代债务人偿还上述全部欠款。',
          },
          {
            type: 'paragraph',
            text: '逾期时间越长，担保责任越大，罚息越多；逾期不履行的，我司将依法追究您的担保责任。',
          },
          { type: 'paragraph', text: '特此通知。' },
          ...zhSignature(f),
        ];
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// English

const EN_TITLES: Record<DocumentKind, string> = {
  'overdue-notice': 'OVERDUE NOTICE',
  'statement-of-account': 'STATEMENT OF ACCOUNT',
  'lawyers-letter': "LAWYER'S LETTER",
  'guarantor-demand': 'DEMAND ON GUARANTOR',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function days(n: number): string {
  return n === 1 ? '1 day' : `${n} days`;
}

function enHead(f: LetterFields, to: { name: string; address?: string; idNumber?: string }, role?: string): Block[] {
  const blocks: Block[] = [{ type: 'letterhead', text: f.creditor.name }];
  const contact = [f.creditor.address && `Address: ${f.creditor.address}`, f.creditor.phone && `Tel: ${f.creditor.phone}`].filter(Boolean);
  if (contact.length > 0) blocks.push({ type: 'note', text: contact.join('  ') });
  blocks.push(
    { type: 'rule' },
    { type: 'title', text: EN_TITLES[f.kind] },
    { type: 'meta', text: `Reference: ${f.reference}` },
    { type: 'meta', text: `Date: ${f.issuedOn}` },
    { type: 'line', text: role ? `To: ${to.name} (${role})` : `To: ${to.name}` },
  );
  if (to.idNumber) blocks.push({ type: 'line', text: `ID number: ${to.idNumber}` });
  if (to.address) blocks.push({ type: 'line', text: `Address: ${to.address}` });
  blocks.push({ type: 'gap' });
  return blocks;
}

function enAmounts(f: LetterFields): Block {
  return {
    type: 'table',
    header: ['Item', `Amount (${f.currency})`],
    rows: [
      ['Principal', f.principal],
      ['Penalty interest', f.penalty],
      ['Fees', f.fees],
      ['Total due', f.total],
    ],
    total: true,
  };
}

function enSignature(f: LetterFields, closing: string, prefix = ''): Block[] {
  return [{ type: 'gap' }, { type: 'signature', text: closing }, { type: 'signature', text: `${prefix}${f.creditor.name}` }];
}

const en: LanguageTemplates = {
  formatDate: (y, m, d) => `${d} ${MONTHS[m - 1]} ${y}`,

  letter(f) {
    const account = `account ${f.accountId}`;
    const payBy = f.payBy ? `by ${f.payBy}` : 'immediately upon receipt of this letter';
    switch (f.kind) {
      case 'overdue-notice':
        return [
          ...enHead(f, f.debtor),
          { type: 'line', text: `Dear ${f.debtor.name},` },
          {
            type: 'paragraph',
            text:
              `The payment on your ${account} with us was due on ${f.dueDate}. As of ${f.issuedOn} it is ${days(f.daysOverdue)} overdue. ` +
              'According to our ledger, the following amounts are outstanding:',
          },
          enAmounts(f),
          { type: 'paragraph', text: `Please pay the total amount due ${payBy}.` },
          {
            type: 'paragraph',
            text:
              'The longer the account remains overdue, the greater your liability and the more penalty interest accrues. ' +
              'The delinquency is reported to the credit bureau as the law provides and will affect your credit record.',
          },
          {
            type: 'paragraph',
            text:
              `If you have difficulty paying, please contact us${f.creditor.phone ? ` on ${f.creditor.phone}` : ''} ` +
              'to agree a repayment arrangement. ' +
              'If you have already paid the amounts above in full, please disregard this notice.',
          },
          ...enSignature(f, 'Yours faithfully,'),
        ];

      case 'statement-of-account': {
        const payments: Block =
          f.payments.length > 0
            ? { type: 'table', header: ['Date paid', `Amount paid (${f.currency})`], rows: f.payments.map((p) => [p.paidAt, p.amount]) }
            : { type: 'paragraph', text: 'No payments have been received on this account as of the date of this statement.' };
        return [
          ...enHead(f, f.debtor),
          { type: 'line', text: `Dear ${f.debtor.name},` },
          {
            type: 'paragraph',
            text:
              `Please find below the statement of your ${account} with us as of ${f.issuedOn}, for your review. ` +
              `The payment was due on ${f.dueDate} and is ${days(f.daysOverdue)} overdue.`,
          },
          { type: 'line', text: '1. Payments received' },
          payments,
          { type: 'line', text: '2. Amounts outstanding' },
          enAmounts(f),
          {
            type: 'paragraph',
            text: f.payBy
              ? `Please check this statement and confirm it in writing by ${f.payBy}. ` +
                'If you dispute any item, tell us in writing by that date and enclose supporting documents. ' +
                `If you do not dispute it, please pay the total amount due by ${f.payBy}.`
              : 'Please check this statement and confirm it in writing on receipt. ' +
                'If you dispute any item, tell us in writing and enclose supporting documents. ' +
                'If you do not dispute it, please pay the total amount due immediately.',
          },
          {
            type: 'paragraph',
            text: 'The longer the account remains overdue, the greater your liability and the more penalty interest accrues.',
          },
          ...enSignature(f, 'Yours faithfully,'),
        ];
      }

      case 'lawyers-letter':
        return [
          ...enHead(f, f.debtor),
          { type: 'line', text: `Dear ${f.debtor.name},` },
          {
            type: 'paragraph',
            text: `We write on the instructions of ${f.creditor.name} (the "Client") concerning the sums you owe the Client.`,
          },
          {
            type: 'paragraph',
            text:
              `The payment on your ${account} with the Client was due on ${f.dueDate}. ` +
              `As of ${f.issuedOn} it is ${days(f.daysOverdue)} overdue and remains unpaid despite the Client's repeated demands. ` +
              'The following amounts are outstanding:',
          },
          enAmounts(f),
          { type: 'paragraph', text: `You are required to pay the total amount due to the Client ${payBy}.` },
          {
            type: 'paragraph',
            text:
              'If you fail to do so, the Client will commence legal proceedings against you before the competent court ' +
              'without further notice ' +
              'and apply for preservation of your assets (seizure and freezing). ' +
              'All court fees, preservation fees, legal fees and other costs so incurred, ' +
              'and every adverse consequence, will be borne by you. ' +
              'The longer the delay, the greater your liability and the more penalty interest accrues.',
          },
          ...enSignature(f, 'Yours faithfully,', 'On behalf of '),
        ];

      case 'guarantor-demand': {
        const g = guarantorOf(f);
        return [
          ...enHead(f, g, 'guarantor'),
          { type: 'line', text: `Dear ${g.name},` },
          {
            type: 'paragraph',
            text:
              `You are the guarantor of the debts of ${f.debtor.name} (the "Debtor") under ${account} with us. ` +
              `The payment was due on ${f.dueDate}; as of ${f.issuedOn} it is ${days(f.daysOverdue)} overdue ` +
              'and remains unpaid despite our demands. ' +
              'The Debtor owes the following amounts:',
          },
          enAmounts(f),
          {
            type: 'paragraph',
            text: `Under your guarantee, we hereby demand that you pay the total amount due in the Debtor's place ${payBy}.`,
          },
          {
            type: 'paragraph',
            text:
              'The longer the delay, the greater the liability under the guarantee and the more penalty interest accrues. ' +
              'If you do not pay, we will enforce the guarantee against you by legal means.',
          },
          ...enSignature(f, 'Yours faithfully,'),
        ];
      }
    }
  },
};

export const TEMPLATES: Record<DocumentLanguage, LanguageTemplates> = { 'zh-CN': zhCN, en };
