// Engine parts in their own processes, to be killed the hard way: `npm run api` / `npm run worker`
// as production starts them (tsx, NODE_ENV=production: the worker loads the pre-built bundle).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../dev/tools';

export interface Part {
  pid: number;
  /** The part's output so far (the last 200 lines). */
  output(): string[];
  /** Resolves when a line matches. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL to the whole process group (tsx and the node it runs): no drain, no cleanup. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export function spawnPart(script: 'api/main.ts' | 'worker/main.ts', env: Record<string, string>): Part {
  const child = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), [script], {
    cwd: PROJECT_ROOT,
    env: { ...cleanEnv(), NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const watchers = new Set<(l: string) => void>();
  const take = (b: Buffer) => {
    for (const l of b.toString().split('\n').filter(Boolean)) {
      lines.push(l);
      if (lines.length > 200) lines.shift();
      for (const w of watchers) w(l);
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      /* gone */
    }
  };
  return {
    pid: child.pid!,
    output: () => [...lines],
    waitForLine: (re, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some((l) => re.test(l))) return resolve();
        const timer = setTimeout(() => {
          watchers.delete(w);
          reject(new Error(`${script}: no line matching ${re} in ${timeoutMs} ms; last output:\n${lines.slice(-15).join('\n')}`));
        }, timeoutMs);
        const w = (l: string) => {
          if (!re.test(l)) return;
          clearTimeout(timer);
          watchers.delete(w);
          resolve();
        };
        watchers.add(w);
        void exited.then(() => {
          if (!watchers.has(w)) return;
          clearTimeout(timer);
          watchers.delete(w);
          reject(new Error(`${script} exited before ${re}; last output:\n${lines.slice(-15).join('\n')}`));
        });
      }),
    async kill() {
      signal('SIGKILL');
      await exited;
    },
    async stop() {
      signal('SIGTERM');
      const t = setTimeout(() => signal('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** This process's environment without Recoup's and Temporal's settings (the test sets its own). */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(TEMPORAL_|RECOUP_|DATABASE_URL)/.test(k)),
  ) as Record<string, string>;
}
