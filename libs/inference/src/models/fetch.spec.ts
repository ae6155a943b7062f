import { readFileSync, mkdirSync, mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddingEngine } from '../engine/embedding-engine';
import { writeTinyBert } from '../testing/tiny-bert';
import { fetchHubModel, pinHubModel } from './fetch';
import { modelManifestSchema, type ModelManifest } from './manifest';

/** The commit the stand-in hub's `main` points at. */
const MAIN_COMMIT = 'c0ffee'.padEnd(40, '7');

/**
 * A stand-in for the hub on loopback: serves /<repo>/resolve/<revision>/<path> from a folder (for
 * the revision writeTinyBert pins and for MAIN_COMMIT), and /api/models/<repo>/revision/main.
 */
function serveHub(
  root: string,
  files: Record<string, string>,
  tamper = false,
): Promise<{ server: Server; base: string }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      if (req.url === '/api/models/tributary/tiny-bert/revision/main') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sha: MAIN_COMMIT }));
        return;
      }
      const match = new RegExp(`^/tributary/tiny-bert/resolve/(?:0{40}|${MAIN_COMMIT})/(.+)$`).exec(
        req.url ?? '',
      );
      const local = match ? files[match[1]!] : undefined;
      if (!local) {
        res.writeHead(404).end();
        return;
      }
      const body = readFileSync(path.join(root, local));
      if (tamper) body[body.length - 1] = body[body.length - 1]! ^ 1;
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        server,
        base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
      });
    });
  });
}

describe('fetchHubModel (pinned revision, sha256-checked)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-hub-'));
  const manifestsDir = path.join(root, 'manifests');
  const published = path.join(root, 'published');
  let manifest: ModelManifest;

  beforeAll(async () => {
    manifest = await writeTinyBert(manifestsDir, published, 'hub-tiny', { pooling: 'mean' });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const files = { 'onnx/model.onnx': 'hub-tiny/1/model.onnx', 'tokenizer.json': 'hub-tiny/1/tokenizer.json' };

  it('downloads every artifact, checks it, and the engine then serves the model', async () => {
    const { server, base } = await serveHub(published, files);
    const target = path.join(root, 'fetched');
    try {
      expect((await fetchHubModel(manifest, target, { baseUrl: base })).sort()).toEqual([
        'model.onnx',
        'tokenizer.json',
      ]);
      expect(await fetchHubModel(manifest, target, { baseUrl: base })).toEqual([]);
    } finally {
      server.close();
    }
    const engine = await EmbeddingEngine.start({
      manifestsDir,
      modelsDataDir: target,
      models: ['hub-tiny@1'],
    });
    try {
      const [v] = await engine.embedRows(
        'hub-tiny@1',
        engine.tokenize('hub-tiny@1', ['the cat']).rows,
        Date.now() + 5000,
      );
      expect(v).toHaveLength(8);
    } finally {
      await engine.close();
    }
  });

  it('refuses a file whose checksum differs, keeping nothing', async () => {
    const { server, base } = await serveHub(published, files, true);
    const target = path.join(root, 'tampered');
    try {
      await expect(fetchHubModel(manifest, target, { baseUrl: base })).rejects.toThrow(
        /has sha256 [0-9a-f]{64} but the manifest pins [0-9a-f]{64}; the file was not kept/,
      );
      expect(existsSync(path.join(target, 'hub-tiny', '1', 'model.onnx'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('says clearly when the hub cannot be reached', async () => {
    const { server, base } = await serveHub(published, files);
    await new Promise((r) => server.close(r));
    await expect(fetchHubModel(manifest, path.join(root, 'offline'), { baseUrl: base })).rejects.toThrow(
      /could not download .*onnx\/model\.onnx \(ECONNREFUSED\)\. Hub models need network access to 127\.0\.0\.1:\d+, which this machine may not have\. To install by hand, put the file at/,
    );
  });

  describe('pinning a version that is not pinned yet', () => {
    /** The tiny model's manifest with its revision and checksums taken out, as one is first written. */
    function writeUnpinned(name: string): string {
      const file = path.join(manifestsDir, 'hub-tiny', '1', 'manifest.json');
      const unpinned = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & ModelManifest;
      const { revision: _revision, ...source } = unpinned.source as {
        revision?: string;
        kind: string;
        repo: string;
      };
      const target = path.join(root, name, 'hub-tiny', '1', 'manifest.json');
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(
        target,
        JSON.stringify({
          ...unpinned,
          source,
          artifacts: unpinned.artifacts.map(({ sha256: _sha, ...a }) => a),
        }),
      );
      return target;
    }

    it('refuses to fetch or load it, saying how to pin it', async () => {
      const file = writeUnpinned('unpinned-manifests');
      const unpinned = modelManifestSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      await expect(fetchHubModel(unpinned, path.join(root, 'unpinned-data'))).rejects.toThrow(
        /hub-tiny@1 is not pinned yet \(no hub revision; no sha256 for model\.onnx, tokenizer\.json\)\. On a machine that reaches the hub, run `npm run models:fetch -- hub-tiny@1 --pin`/,
      );
      await expect(
        EmbeddingEngine.start({
          manifestsDir: path.join(root, 'unpinned-manifests'),
          modelsDataDir: path.join(root, 'published'),
          models: ['hub-tiny@1'],
        }),
      ).rejects.toThrow(/hub-tiny@1 is not pinned yet .* Until then it does not load\./);
    });

    it("resolves main to a commit, records each file's sha256 and size, and the pinned model then loads", async () => {
      const file = writeUnpinned('to-pin');
      const target = path.join(root, 'pinned-data');
      const { server, base } = await serveHub(published, files);
      try {
        const pinned = await pinHubModel(file, target, { baseUrl: base });
        expect(pinned.source).toEqual({
          kind: 'huggingface',
          repo: 'tributary/tiny-bert',
          revision: MAIN_COMMIT,
        });
        const written = modelManifestSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
        expect(written).toEqual(pinned);
        // The checksums are those of the published bytes, not of anything the test wrote down.
        expect(written.artifacts.map((a) => [a.file, a.sha256, a.bytes])).toEqual(
          manifest.artifacts.map((a) => [
            a.file,
            a.sha256,
            readFileSync(path.join(published, 'hub-tiny', '1', a.file)).length,
          ]),
        );
        await expect(pinHubModel(file, target, { baseUrl: base })).rejects.toThrow(
          `hub-tiny@1 is already pinned (revision ${MAIN_COMMIT}); model versions are immutable`,
        );
      } finally {
        server.close();
      }
      const engine = await EmbeddingEngine.start({
        manifestsDir: path.join(root, 'to-pin'),
        modelsDataDir: target,
        models: ['hub-tiny@1'],
      });
      try {
        const [v] = await engine.embedRows(
          'hub-tiny@1',
          engine.tokenize('hub-tiny@1', ['the dog']).rows,
          Date.now() + 5000,
        );
        expect(v).toHaveLength(8);
      } finally {
        await engine.close();
      }
    });
  });
});
