// Lint rules: typescript-eslint's strict type-aware set, plus the few style
// points of docs/style that a linter can check.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files under `folder` (tests aside) must not import from the sibling folders of src/ named in `forbidden`. */
function layer(folder, forbidden) {
  return [{
    files: [`${folder}/**/*.ts`],
    ignores: ['**/*.test.ts', '**/*.test-helper.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: forbidden.map((name) => ({
          group: [`**/${name}/**`, `../${name}/**`],
          message: `${folder} must not depend on src/${name}: see the layers in docs/architecture.md.`,
        })),
      }],
    },
  }];
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
      'max-lines': ['warn', { max: 400, skipBlankLines: true, skipComments: true }],
    },
  },
  // Layers: each folder of src/ may import only the ones below it, so the
  // tree shows the architecture (docs/architecture.md). Tests may cross them.
  ...layer('src/util', ['domain', 'kube', 'link', 'agent', 'hub', 'cli']),
  ...layer('src/domain', ['kube', 'link', 'agent', 'hub', 'cli']),
  ...layer('src/link', ['kube', 'agent', 'hub', 'cli']),
  ...layer('src/kube', ['agent', 'hub', 'cli']),
  ...layer('src/agent', ['hub', 'cli']),
  ...layer('src/hub', ['agent', 'cli']),
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
