import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { transformFileSync, type Options } from '@swc/core';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * What production runs, compiled: the three apps, the migration command (the Kubernetes Job) and
 * the Prisma CLI's configuration, which that command's `prisma migrate deploy` loads.
 */
export const BUILD_ENTRIES = [
  'apps/api/src/main.ts',
  'apps/worker/src/main.ts',
  'apps/scheduler/src/main.ts',
  'tools/dev/src/migrate.ts',
  'prisma.config.ts',
] as const;

/**
 * Loaded by a tool that reads `module.exports` (the Prisma CLI's config loader) rather than
 * `require`d by our code: its default export becomes the module itself.
 */
const DEFAULT_EXPORT_AS_MODULE = new Set(['prisma.config.ts']);

/** Copied as they are: the schema and migrations that the migration command applies. */
const COPIED = ['prisma/schema.prisma', 'prisma/migrations'];

/**
 * The swc settings the tests (jest.preset.js) and the development runs (@swc-node/register) use:
 * legacy decorators with their metadata (Nest's dependency injection reads it), CommonJS, ES2022,
 * and the workspace aliases of tsconfig.base.json rewritten to relative paths, so the output tree
 * mirrors the source tree and runs under plain `node`.
 */
function swcOptions(): Options {
  const base = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  return {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      baseUrl: ROOT,
      paths: base.compilerOptions.paths,
    },
    module: { type: 'commonjs' },
    sourceMaps: true,
    swcrc: false,
    configFile: false,
  };
}

/** The source file a relative `require` of compiled code names: `x.ts`, `x/index.ts` or a plain file. */
function resolveSource(fromDir: string, specifier: string): string {
  const base = path.resolve(fromDir, specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`cannot resolve ${specifier} from ${path.relative(ROOT, fromDir)}`);
}

export interface BuildResult {
  outDir: string;
  /** Compiled modules and copied files, relative to the repository. */
  modules: string[];
  bytes: number;
}

/**
 * Compiles {@link BUILD_ENTRIES} and every module they import (followed through the compiled
 * `require`s, so type-only imports and test code stay out) into `outDir`, with source maps; copies
 * the `.cjs` files beside them (worker-thread scripts loaded by path) and {@link COPIED}. The
 * output needs only the production packages. Type checking is `npm run typecheck`'s job.
 */
export function build(outDir: string): BuildResult {
  const out = path.resolve(outDir);
  if (ROOT === out || ROOT.startsWith(`${out}${path.sep}`))
    throw new Error(`refusing to build into ${out}: it holds the repository`);
  rmSync(out, { recursive: true, force: true });
  const options = swcOptions();
  const done = new Set<string>();
  const dirs = new Set<string>();
  const pending: string[] = BUILD_ENTRIES.map((entry) => path.join(ROOT, entry));
  let bytes = 0;
  const emit = (file: string, content: string | Buffer) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    bytes += Buffer.byteLength(content);
  };
  while (pending.length > 0) {
    const source = pending.pop()!;
    if (done.has(source)) continue;
    done.add(source);
    const relative = path.relative(ROOT, source);
    const target = path.join(out, relative);
    if (!source.endsWith('.ts')) {
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(source, target);
      continue;
    }
    dirs.add(path.dirname(source));
    const jsFile = target.replace(/\.ts$/, '.js');
    const result = transformFileSync(source, {
      ...options,
      filename: source,
      sourceFileName: path.relative(path.dirname(jsFile), source),
    });
    const tail = DEFAULT_EXPORT_AS_MODULE.has(relative) ? 'module.exports = exports.default;\n' : '';
    emit(jsFile, `${result.code}\n${tail}//# sourceMappingURL=${path.basename(jsFile)}.map\n`);
    if (result.map) emit(`${jsFile}.map`, result.map);
    for (const match of result.code.matchAll(/require\("(\.{1,2}\/[^"]*)"\)/g)) {
      pending.push(resolveSource(path.dirname(source), match[1]!));
    }
  }
  for (const dir of dirs) {
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.cjs'))) {
      cpSync(path.join(dir, name), path.join(out, path.relative(ROOT, dir), name));
      done.add(path.join(dir, name));
    }
  }
  for (const item of COPIED) {
    cpSync(path.join(ROOT, item), path.join(out, item), { recursive: true });
    done.add(path.join(ROOT, item));
  }
  return { outDir: out, modules: [...done].map((f) => path.relative(ROOT, f)).sort(), bytes };
}

/** `npm run build [-- --out-dir DIR]` (default `dist`). */
function main(): void {
  const at = process.argv.indexOf('--out-dir');
  const outDir = at >= 0 ? process.argv[at + 1] : path.join(ROOT, 'dist');
  if (!outDir) throw new Error('--out-dir needs a folder');
  const started = process.hrtime.bigint();
  const result = build(outDir);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `[build] ${result.modules.length} files (${(result.bytes / 1e6).toFixed(1)} MB) into ${path.relative(process.cwd(), result.outDir) || '.'} in ${seconds.toFixed(1)} s\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  try {
    main();
  } catch (err: unknown) {
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
