import { InvalidArgumentError, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import type { SimulateOptions } from '../sim/simulate';

const whole = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} is a whole number`);
  return Number(v);
};

/**
 * `recoup simulate`: a what-if run of a portfolio through one playbook or two side by side, on the
 * Temporal time-skipping test server, with simulated debtors (docs/simulation.md). The report goes to
 * stdout (the same inputs and seed give the same bytes), progress to stderr. It needs the development
 * dependencies (@temporalio/testing) and the test server (`npm run setup`), loaded only when it runs.
 */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'What-if: run a portfolio through one playbook or two (side by side) for N days on the time-skipping test server, ' +
        'with simulated debtors: recovery curve, costs, contacts, compliance refusals, promises',
    )
    .option(
      '--playbook <file|id>',
      "a playbook file (YAML or JSON) or a built-in id; twice to compare two (default: each account's own)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--portfolio <file>', 'the portfolio, a CSV with the columns of the import (docs/imports.md)')
    .option('--generate <n>', 'simulate n made-up accounts instead of a file (seeded by --seed)', whole('--generate'))
    .option('--save-portfolio <file>', 'with --generate: also write the generated portfolio there, as CSV')
    .option('--days <n>', 'days to simulate', whole('--days'), 120)
    .option('--seed <n>', 'the seed of every random draw: the same seed and inputs give the same report', whole('--seed'), 42)
    .option('--behaviour <file>', 'the debtor behaviour model, YAML or JSON (default: sim/behaviour-default.yaml)')
    .option('--csv <file>', 'also write the figures as CSV, with every day of the curves')
    .action(async (o: Omit<SimulateOptions, 'playbooks' | 'progress'> & { playbook: string[]; csv?: string }) => {
      // Loaded here: the rest of the CLI runs where only the production dependencies are installed.
      const { simulate } = await import('../sim/simulate');
      const result = await simulate({
        playbooks: o.playbook,
        days: o.days,
        seed: o.seed,
        progress: (line) => process.stderr.write(`${line}\n`),
        ...(o.portfolio !== undefined ? { portfolio: o.portfolio } : {}),
        ...(o.generate !== undefined ? { generate: o.generate } : {}),
        ...(o.savePortfolio !== undefined ? { savePortfolio: o.savePortfolio } : {}),
        ...(o.behaviour !== undefined ? { behaviour: o.behaviour } : {}),
      });
      process.stdout.write(result.report);
      if (o.csv) {
        await writeFile(o.csv, result.csv);
        process.stderr.write(`figures written to ${o.csv}\n`);
      }
    });
}
