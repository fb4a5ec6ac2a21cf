import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { DEFAULT_PLAYBOOK_ID } from '../shared/playbooks';
import { DEFAULT_BEHAVIOUR_FILE, loadBehaviour } from './behaviour';
import { builtInPlaybook, loadPlaybook } from './playbook-source';
import { generatePortfolio, PortfolioError, readPortfolio, type SimAccount } from './portfolio';
import { csvReport, figuresOf, textReport, type Figures } from './report';
import { runSimulation, type Sizing, type Variant } from './run';

export interface SimulateOptions {
  /** Playbook files or built-in ids, at most two (compared side by side); none: each account's own playbook. */
  playbooks: string[];
  /** A portfolio CSV (docs/imports.md), or `generate` made-up accounts. */
  portfolio?: string;
  generate?: number;
  /** With `generate`: where to write the generated portfolio. */
  savePortfolio?: string;
  days: number;
  seed: number;
  /** The behaviour model's file (default sim/behaviour-default.yaml). */
  behaviour?: string;
  progress?: (line: string) => void;
  sizing?: Partial<Sizing>;
}

export interface SimulateResult {
  report: string;
  csv: string;
  figures: Figures[];
  /** Rows of the portfolio left out, with why. */
  skipped: string[];
  wallMs: number;
}

const MAX_DAYS = 366;

/** `recoup simulate`: reads the inputs, runs the simulation, and writes its report (text) and figures (CSV). */
export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  if (o.playbooks.length > 2) throw new Error('give at most two playbooks to compare');
  if ((o.portfolio === undefined) === (o.generate === undefined))
    throw new Error('give a portfolio file (--portfolio) or --generate <n>, one of them');
  if (o.savePortfolio !== undefined && o.generate === undefined) throw new Error('--save-portfolio goes with --generate');
  if (!Number.isInteger(o.days) || o.days < 1 || o.days > MAX_DAYS) throw new Error(`days: a whole number from 1 to ${MAX_DAYS}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new Error('seed: a whole number, 0 or more');

  const { behaviour, text: behaviourText } = await loadBehaviour(o.behaviour ?? DEFAULT_BEHAVIOUR_FILE);
  let portfolioText: string;
  let portfolioName: string;
  if (o.generate !== undefined) {
    if (!Number.isInteger(o.generate) || o.generate < 1 || o.generate > 100_000) throw new Error('generate: from 1 to 100,000 accounts');
    portfolioText = generatePortfolio(o.generate, o.seed);
    portfolioName = `${o.generate} generated accounts (seed ${o.seed})`;
    if (o.savePortfolio) await writeFile(o.savePortfolio, portfolioText);
  } else {
    portfolioName = o.portfolio!;
    portfolioText = await readFile(o.portfolio!, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new PortfolioError(e.code === 'ENOENT' ? `no portfolio file ${o.portfolio}` : `cannot read ${o.portfolio}: ${e.message}`);
    });
  }
  const { accounts, skipped } = readPortfolio(portfolioText, portfolioName);
  for (const s of skipped) o.progress?.(`portfolio: left out ${s}`);

  const variants: Array<Variant & { description: string }> = [];
  if (o.playbooks.length === 0) {
    const unknown = [...new Set(accounts.map((a) => a.playbookId ?? DEFAULT_PLAYBOOK_ID))].filter((id) => !builtInPlaybook(id));
    if (unknown.length > 0) {
      throw new Error(`the portfolio names playbooks that are not built in (${unknown.join(', ')}): give them as files with --playbook`);
    }
    variants.push({
      label: 'A',
      description: `each account's own (its playbookId, else ${DEFAULT_PLAYBOOK_ID}), built in`,
      playbookFor: (a: SimAccount) => builtInPlaybook(a.playbookId ?? DEFAULT_PLAYBOOK_ID)!,
    });
  }
  for (const [i, ref] of o.playbooks.entries()) {
    const { playbook, source } = await loadPlaybook(ref);
    variants.push({
      label: 'AB'[i]!,
      description: `${playbook.id} v${playbook.version} (${source === 'built in' ? 'built in' : source})`,
      playbookFor: () => playbook,
    });
  }

  const run = await runSimulation({
    accounts,
    variants,
    behaviour,
    seed: o.seed,
    days: o.days,
    ...(o.progress ? { progress: o.progress } : {}),
    ...(o.sizing ? { sizing: o.sizing } : {}),
  });
  const figures = figuresOf(
    run.books,
    variants.map((v) => ({ label: v.label, playbook: v.description })),
    o.days,
  );
  const sha = createHash('sha256').update(behaviourText).digest('hex').slice(0, 12);
  const report = textReport(
    {
      portfolio: portfolioName,
      accounts: accounts.length,
      instalments: accounts.reduce((n, a) => n + a.instalments.length, 0),
      days: o.days,
      seed: o.seed,
      behaviour: `${o.behaviour ?? 'sim/behaviour-default.yaml (the default)'}, sha256 ${sha}`,
      playbooks: variants.map((v) => ({ label: v.label, description: v.description })),
    },
    figures,
  );
  return { report, csv: csvReport(o.days, figures), figures, skipped, wallMs: run.wallMs };
}
