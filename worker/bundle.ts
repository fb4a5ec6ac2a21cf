import { bundleWorkflowCode, type Logger, type WorkflowBundleOption } from '@temporalio/worker';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The workflow bundle, built ahead of time. Bundling workflows/ with webpack takes seconds at every
 * worker start; a production worker loads `.build/workflow-bundle-<hash>.js` instead, where <hash> is
 * the SHA-256 of everything that goes into the bundle: the sources under workflows/ and shared/, and
 * package-lock.json (the SDK and zod are bundled too). `npm run build:workflows` writes it (the
 * Dockerfile runs it); a production worker that finds no bundle for its sources builds and caches it
 * on its first start.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WORKFLOWS_PATH = path.join(ROOT, 'workflows', 'index.ts');
const BUNDLE_DIR = path.join(ROOT, '.build');
const SOURCE_DIRS = ['workflows', 'shared'];
const ALSO_HASHED = ['package-lock.json', 'worker/bundle.ts'];
/**
 * Modules a workflow thread loads once and shares between the workflows it runs (the SDK's
 * `preloadModules`), instead of once per workflow. Only pure modules: their answers depend on their
 * arguments alone, so sharing changes no decision. The calendar keeps its time-zone formatters and
 * recent answers there: a new case no longer builds its own (they were a sixth of a workflow thread's
 * time when cases were opened at concurrency 16).
 */
const PRELOADED = [path.join(ROOT, 'shared', 'calendar.ts')];
const BUNDLE_FILE = /^workflow-bundle-[0-9a-f]{64}\.js$/;

/** The files the bundle is made from, relative to the root with '/' separators, sorted. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) files.push(child);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return [...files.sort(), ...ALSO_HASHED];
}

/** SHA-256 (hex) of the bundle's inputs: each file's path and contents. */
function workflowSourcesHash(): string {
  const h = createHash('sha256');
  for (const rel of sourceFiles()) {
    h.update(`${rel}\0`);
    h.update(readFileSync(path.join(ROOT, rel)));
    h.update('\0');
  }
  return h.digest('hex');
}

function workflowBundlePath(hash: string = workflowSourcesHash()): string {
  return path.join(BUNDLE_DIR, `workflow-bundle-${hash}.js`);
}

/** Bundles workflows/ (what Worker.create does with workflowsPath), with the shared modules preloaded. */
export async function bundleWorkflows(logger?: Logger): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: PRELOADED, ...(logger ? { logger } : {}) });
  return { code };
}

/** Writes the bundle for `hash` whole or not at all (a temporary file, renamed), so a reader never sees half of it. */
async function writeBundle(hash: string, code: string): Promise<string> {
  const file = workflowBundlePath(hash);
  await mkdir(BUNDLE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeFile(tmp, code);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/**
 * `npm run build:workflows`: builds the bundle for the current sources (unless it exists) and removes
 * bundles of other sources.
 */
export async function buildWorkflowBundle(
  opts: { logger?: Logger; force?: boolean } = {},
): Promise<{ path: string; hash: string; built: boolean; removed: string[] }> {
  const hash = workflowSourcesHash();
  let file = workflowBundlePath(hash);
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (!exists || opts.force) file = await writeBundle(hash, (await bundleWorkflows(opts.logger)).code);
  const removed: string[] = [];
  for (const name of await readdir(BUNDLE_DIR)) {
    if (BUNDLE_FILE.test(name) && name !== path.basename(file)) {
      await rm(path.join(BUNDLE_DIR, name), { force: true });
      removed.push(name);
    }
  }
  return { path: file, hash, built: !exists || opts.force === true, removed };
}

/**
 * The bundle cached for the current sources; on a miss, bundles now and caches it for the next start.
 * A cache that cannot be written (a read-only checkout) is reported and the bundle used from memory.
 */
export async function cachedWorkflowBundle(logger?: Logger): Promise<WorkflowBundleOption> {
  const hash = workflowSourcesHash();
  const file = workflowBundlePath(hash);
  if (
    await access(file).then(
      () => true,
      () => false,
    )
  )
    return { codePath: file };
  logger?.info(`No workflow bundle for these sources (${path.relative(ROOT, file)}): bundling now and caching it`);
  const { code } = await bundleWorkflows(logger);
  try {
    return { codePath: await writeBundle(hash, code) };
  } catch (e) {
    logger?.warn(
      `Could not cache the workflow bundle in ${BUNDLE_DIR} (${(e as Error).message}): ` +
        'run `npm run build:workflows` where it can be written',
    );
    return { code };
  }
}
