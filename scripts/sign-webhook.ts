// Signs a payment webhook body the way Recoup checks it (shared/signature.ts), and sends it:
//   npm run sign-webhook -- <url> <secret> '<json body>'
// Header: Recoup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
// With --print it only prints the header (for curl -H).
import { signBody } from '../shared/signature';

const args = process.argv.slice(2);
const printOnly = args[0] === '--print';
const [url, secret, body] = printOnly ? [undefined, ...args.slice(1)] : args;
if (!secret || !body || (!printOnly && !url)) {
  console.error(
    "usage: npm run sign-webhook -- <url> <secret> '<json body>'\n" + "       npm run sign-webhook -- --print <secret> '<json body>'",
  );
  process.exit(2);
}
const header = signBody(secret, Math.floor(Date.now() / 1000), body);
if (printOnly) {
  console.log(header);
} else {
  const res = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json', 'recoup-signature': header }, body });
  console.log(res.status, await res.text());
  // A refused webhook fails the command, so a script can tell.
  if (res.status >= 400) process.exit(1);
}
