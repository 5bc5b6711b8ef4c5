// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'coverage/', 'dist/', '.gateway/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Handlers implement async ports (a reaction, a route, a fake's method) whose body may have
      // nothing to wait for; dropping `async` for `Promise.resolve` says the same with more noise.
      '@typescript-eslint/require-await': 'off',
      // `_` names what a destructuring leaves out on purpose (`const { hash: _, ...rest } = event`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'projections/**/*.ts'],
    rules: {
      // Issue 14: no function longer than 80 lines. A data table (a record of small functions, one
      // per event type) is an object, not a function, so it is not counted.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests walk parsed YAML and JSON documents (manifests, captures, problem bodies) whose shape
      // the assertions themselves check; typing each walk would restate the schema under test.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // A widening `as` (`status as string`, `as number | null`) chooses the type ava's `t.is` and
      // `t.like` infer for both sides; the rule calls it unnecessary and its fix breaks the build.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Messages and comparisons stringify JSON values read back from the log or a response; a
      // value that is not the expected string fails the assertion it is printed beside.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
);
