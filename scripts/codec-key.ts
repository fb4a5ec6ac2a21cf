// npm run codec-key -- add <file> [key id]   |   npm run codec-key -- list <file>
// `add` creates the key ring file (mode 0600) or adds a new random key to it and makes that key the
// active one: new payloads use it, payloads under the older keys stay readable. Restart the workers
// and the API with the new file to rotate (docs/operations.md, "Payload encryption").
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CodecKeyError, ensureKeyRingFile, KeyRingFile, readKeyRingFile } from '../shared/codec';

const [command, file, id] = process.argv.slice(2);
const usage = 'usage: npm run codec-key -- add <file> [key id]\n       npm run codec-key -- list <file>';
try {
  if (command === 'add' && file) {
    if (!existsSync(file)) {
      const ring = ensureKeyRingFile(file, ...(id ? [id] : []));
      console.log(`created ${file} with key "${ring.active}" (active)`);
    } else {
      readKeyRingFile(file); // refuses a broken file before anything is written
      const ring = JSON.parse(readFileSync(file, 'utf8')) as KeyRingFile;
      const keyId = id ?? `k${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 12)}`;
      if (keyId in ring.keys) throw new CodecKeyError(`${file} already has a key "${keyId}"`);
      const next = KeyRingFile.parse({ active: keyId, keys: { ...ring.keys, [keyId]: randomBytes(32).toString('base64') } });
      writeFileSync(`${file}.new`, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${file}.new`, file);
      console.log(`added key "${keyId}" to ${file} and made it active; still readable: ${Object.keys(ring.keys).join(', ')}`);
    }
  } else if (command === 'list' && file) {
    const ring = readKeyRingFile(file);
    for (const k of ring.keys.keys()) console.log(`${k}${k === ring.active ? ' (active)' : ''}`);
  } else {
    console.error(usage);
    process.exitCode = 2;
  }
} catch (e) {
  if (!(e instanceof CodecKeyError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
