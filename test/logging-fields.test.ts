import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../api/logging';

/** What the API's logger writes, parsed: one object per line, and the raw text. */
function capture() {
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(line) });
  return { log, text: () => lines.join(''), records: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe("the API log masks a person's details by field", () => {
  it('phones and ID numbers keep their last four characters; name, address and email are withheld; ids and numbers stay', () => {
    const { log, text, records } = capture();
    const requestId = randomUUID();
    log.info(
      {
        requestId,
        status: 200,
        ms: 12.5,
        debtor: {
          name: '张三',
          phones: ['+86 138 1234 5678', '13900001111'],
          idNumber: '11010819900101123X',
          address: '北京市海淀区中关村大街1号',
          email: 'zhang.san@example.com',
        },
        guarantors: [{ id: 'G1', name: 'Li Si', phone: '139-0000-2222', address: '1 Market Street' }],
      },
      'contact details',
    );
    const [r] = records();
    expect(r).toMatchObject({ requestId, status: 200, ms: 12.5, msg: 'contact details' });
    expect(r!.debtor).toEqual({
      name: '[withheld]',
      phones: ['*************5678', '*******1111'],
      idNumber: '**************123X',
      address: '[withheld]',
      email: '[withheld]',
    });
    expect(r!.guarantors).toEqual([{ id: 'G1', name: '[withheld]', phone: '*********2222', address: '[withheld]' }]);
    for (const pii of ['张三', '138 1234', '13900001111', '1101081990', '中关村', 'zhang.san', 'Li Si', '139-0000', 'Market Street'])
      expect(text()).not.toContain(pii);
  });

  it('an Error logged as is keeps its message and stack, masked, and the request id as it is', () => {
    const { log, text, records } = capture();
    const requestId = randomUUID();
    const err = Object.assign(new Error('no debtor 110108199001011234 at +86 138 1234 5678'), { code: 'E_NO_DEBTOR' });
    log.error({ requestId, err }, 'unexpected error');
    const [r] = records();
    expect(r!.requestId).toBe(requestId);
    expect(r!.err).toMatchObject({ type: 'Error', code: 'E_NO_DEBTOR', message: 'no debtor **************1234 at *************5678' });
    expect(r!.err.stack).toMatch(/^Error: no debtor \*+1234 at \*+5678\n/);
    expect(text()).not.toContain('110108199001011234');
    expect(text()).not.toContain('138 1234');
  });

  it("an Error logged alone: its message is the line's msg, masked", () => {
    const { log, text, records } = capture();
    log.error(new Error('debtor 13812345678 not reachable'));
    const [r] = records();
    expect(r!.msg).toBe('debtor *******5678 not reachable');
    expect(r!.err).toMatchObject({ type: 'Error', message: 'debtor *******5678 not reachable' });
    expect(text()).not.toContain('13812345678');
  });
});
