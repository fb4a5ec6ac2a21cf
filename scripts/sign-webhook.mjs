#!/usr/bin/env node
// Signs a payment webhook body the way Recoup checks it, and sends it:
//   node scripts/sign-webhook.mjs <url> <secret> '<json body>'
// Header: Recoup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
// With --print it only prints the header (for curl -H).
import { createHmac } from 'node:crypto';

const args = process.argv.slice(2);
const printOnly = args[0] === '--print';
const [url, secret, body] = printOnly ? [undefined, ...args.slice(1)] : args;
if (!secret || !body || (!printOnly && !url)) {
  console.error(
    "usage: node scripts/sign-webhook.mjs <url> <secret> '<json body>'\n" +
      "       node scripts/sign-webhook.mjs --print <secret> '<json body>'",
  );
  process.exit(2);
}
const t = Math.floor(Date.now() / 1000);
const header = `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')}`;
if (printOnly) {
  console.log(header);
} else {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'recoup-signature': header }, body });
  console.log(res.status, await res.text());
}
