import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import semver from 'semver';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/**
 * Packages allowed to declare a Node range that excludes the lowest Node this project supports,
 * each with the reason the EBADENGINE warning it causes on Node 20 is harmless (README, "Node").
 */
const KNOWN_ENGINE_WARNINGS: Record<string, string> = {
  // 2.26 raised engines to >=22 with no change to its JavaScript or to its N-API prebuilds (ABI
  // stable across Node versions); 2.25.3, the last >=20 release, lacks 2.26's fixes for corrupt-file
  // bounds, dense-key hashing and tombstone rehashing, which the embedded store relies on.
  usearch: '2.26.2',
};

describe('npm install configuration', () => {
  it('gives npm no setting it does not know (npm warns about each on every npm and npx command)', () => {
    // A clean environment and an empty home: only the project's .npmrc is read.
    const home = mkdtempSync(path.join(tmpdir(), 'tributary-npm-home-'));
    try {
      const npm = spawnSync('npm', ['config', 'get', 'fund'], {
        cwd: ROOT,
        env: { PATH: process.env['PATH'], HOME: home },
        encoding: 'utf8',
      });
      expect(npm.status).toBe(0);
      expect(npm.stdout.trim()).toBe('false'); // the project's .npmrc was read
      expect(npm.stderr).not.toMatch(/Unknown project config/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('reviews every install script in allowScripts, denying the ones that download what is not used', () => {
    const project = JSON.parse(read('package.json')) as { allowScripts: Record<string, boolean> };
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([location, entry]) => location !== '' && entry.hasInstallScript === true)
      .map(([location]) => location.slice(location.lastIndexOf('node_modules/') + 13));
    // Unreviewed ones make npm end every install with a list of them (and run them anyway).
    expect(withScripts.filter((name) => !(name in project.allowScripts))).toEqual([]);
    // onnxruntime-node's only downloads its CUDA provider (NuGet, unreachable here; unused on CPU);
    // @scarf/scarf's reports the install to a telemetry service.
    expect(Object.keys(project.allowScripts).filter((name) => !project.allowScripts[name])).toEqual([
      '@scarf/scarf',
      'onnxruntime-node',
    ]);
  });

  it("skips onnxruntime-node's CUDA download for npm without allowScripts through the variable its install script reads", () => {
    const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));
    const { parseInstallFlag } = requireFromRoot('onnxruntime-node/script/install-utils.js') as {
      parseInstallFlag(this: void): unknown;
    };
    const before = process.env['ONNXRUNTIME_NODE_INSTALL'];
    try {
      process.env['ONNXRUNTIME_NODE_INSTALL'] = 'skip';
      expect(parseInstallFlag()).toBe(false); // false: the script exits before downloading anything
    } finally {
      if (before === undefined) delete process.env['ONNXRUNTIME_NODE_INSTALL'];
      else process.env['ONNXRUNTIME_NODE_INSTALL'] = before;
    }
    expect(read('scripts/bootstrap.mjs')).toMatch(/ONNXRUNTIME_NODE_INSTALL: 'skip'/);
    expect(read('deploy/Dockerfile')).toMatch(/^ENV .*\bONNXRUNTIME_NODE_INSTALL=skip\b/m);
    expect(read('README.md')).toContain('ONNXRUNTIME_NODE_INSTALL=skip npm ci');
  });

  it('locks no package whose engines exclude the lowest supported Node, except the documented ones', () => {
    const project = JSON.parse(read('package.json')) as { engines: { node: string } };
    const lowest = semver.minVersion(project.engines.node)!.version;
    expect(lowest).toBe('20.19.0');
    expect(read('README.md')).toContain('Node 20.19+');
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const excluding: Record<string, string> = {};
    for (const [location, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (location === '' || range === undefined) continue;
      if (!semver.satisfies(lowest, range)) {
        excluding[location.slice(location.lastIndexOf('node_modules/') + 13)] = entry.version ?? '';
      }
    }
    expect(excluding).toEqual(KNOWN_ENGINE_WARNINGS);
    const readme = read('README.md');
    expect(readme).toContain('EBADENGINE');
    for (const name of Object.keys(KNOWN_ENGINE_WARNINGS)) expect(readme).toContain(`\`${name}\``);
  });
});
