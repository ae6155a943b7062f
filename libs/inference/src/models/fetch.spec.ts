import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddingEngine } from '../engine/embedding-engine';
import { writeTinyBert } from '../testing/tiny-bert';
import { fetchHubModel } from './fetch';
import type { ModelManifest } from './manifest';

/** A stand-in for the hub on loopback: serves /<repo>/resolve/<revision>/<path> from a folder. */
function serveHub(
  root: string,
  files: Record<string, string>,
  tamper = false,
): Promise<{ server: Server; base: string }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      const match = /^\/tributary\/tiny-bert\/resolve\/0{40}\/(.+)$/.exec(req.url ?? '');
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
});
