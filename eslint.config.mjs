// npm run lint: the boundaries a comment used to ask for, checked.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
/** Imports a folder may not make: `group` globs, with why. */
const forbid = (...groups) => groups.map(([group, message]) => ({ group, message }));

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.data/**', '.build/**', 'test/histories/**', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its failure (and, in a workflow, its ordering).
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // The workflow sandbox: deterministic code only. Types of activities may be imported, never their code.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'workflows/ runs in the Temporal sandbox: no Node built-ins' })),
            {
              name: '@temporalio/workflow',
              importNames: ['patched', 'deprecatePatch'],
              message: 'ask for a patch with ctx.patched(id) (workflows/case/patches.ts): a patch generation has it with no marker',
            },
          ],
          patterns: [
            {
              group: ['**/activities/**', '!**/shared/activities'],
              allowTypeImports: true,
              message: 'workflows/ may import only the types of activities',
            },
            ...forbid(
              [
                ['**/api/**', '**/worker/**', '**/app/**', '**/db/**', '**/dev/**'],
                'workflows/ may import only shared/ contracts and pure code',
              ],
              [
                ['@temporalio/worker', '@temporalio/client', '@temporalio/activity', 'postgres', 'pino', 'express'],
                'not in the workflow sandbox',
              ],
            ),
          ],
        },
      ],
    },
  },
  {
    // Contracts point nowhere: shared/ imports no layer above it.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbid([
            ['**/api/**', '**/worker/**', '**/app/**', '**/activities/**', '**/db/**', '**/workflows/**'],
            'shared/ holds contracts only: it imports no layer',
          ]),
        },
      ],
    },
  },
  {
    // The API and the worker are two parts app/ assembles: neither imports the other.
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: forbid([['**/worker/**'], 'api/ must not import worker/: app/ assembles both']) }],
    },
  },
  {
    files: ['worker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: forbid([['**/api/**'], 'worker/ must not import api/: app/ assembles both']) }],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbid([
            ['**/api/**', '**/worker/**', '**/app/**', '**/workflows/**'],
            'activities/ are side effects the worker runs: they import no layer above them',
          ]),
        },
      ],
    },
  },
);
