/**
 * Why accounts go overdue: the six causes of the micro-loan plan, recorded on first contact
 * (`reasonCategory`), with their labels in zh-CN and en. 4 and 5 are payment problems, not
 * delinquency (a payment investigation for finance); 6 brings the legal referral forward.
 */
export const REASONS = [
  {
    category: 1,
    en: 'ordinary cash-flow gap (receivables not yet collected, cheques not cleared)',
    zh: '正常资金周转困难（应收款未收回、支票未兑现）',
    kind: 'delinquency',
  },
  {
    category: 2,
    en: 'market change (prices of produce or materials, financial crisis)',
    zh: '市场变化（农产品或原材料价格波动、金融危机）',
    kind: 'delinquency',
  },
  {
    category: 3,
    en: 'family change (divorce, marriage, school fees, renovation)',
    zh: '家庭变故（离婚、结婚、子女上学、装修）',
    kind: 'delinquency',
  },
  { category: 4, en: 'deposited less than the instalment', zh: '存入金额不足当期应还款', kind: 'payment-problem' },
  { category: 5, en: 'paid into the wrong account or card', zh: '存错账户或银行卡', kind: 'payment-problem' },
  {
    category: 6,
    en: 'fraud or misuse (gambling, luxury spending, illegal business)',
    zh: '欺诈或挪用（赌博、奢侈消费、非法经营）',
    kind: 'fraud',
  },
] as const;

/** The debtor's funds as observed (the receivables policy's article 16), with their labels. */
export const FUNDS_LABELS = [
  { funds: 'good', en: 'money is there', zh: '有钱' },
  { funds: 'short-prospects', en: 'money is short but the business has prospects', zh: '资金短缺但经营前景良好' },
  { funds: 'short-poorly-run', en: 'money is short and the business is badly run', zh: '资金短缺且经营不善' },
  { funds: 'evasive', en: 'malicious, evasive', zh: '恶意拖欠、逃避' },
] as const;
