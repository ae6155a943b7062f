import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { artifactStatus, type ModelManifest } from '@tributary/inference';
import { ArtifactStates } from './artifact-states';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('ArtifactStates', () => {
  let dataDir: string;
  let dir: string;
  let manifest: ModelManifest;
  let hashings: number;
  let states: ArtifactStates;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'artifact-states-'));
    dir = path.join(dataDir, 'models', 'toy', '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.onnx'), 'weights');
    writeFileSync(path.join(dir, 'vocab.json'), '[]');
    manifest = {
      name: 'toy',
      version: '1',
      created: '2026-11-25T00:00:00Z',
      description: 'toy',
      license: 'Apache-2.0',
      source: { kind: 'npm-tfjs', package: 'x@1', converter: 'tributary-tfjs-to-onnx', quantization: 'none' },
      dimensions: 4,
      maxTokens: 8,
      tokenizer: { kind: 'sentencepiece-unigram', file: 'vocab.json' },
      pooling: 'in-graph-mean',
      normalize: 'in-graph',
      quantization: 'none',
      artifacts: [
        { file: 'model.onnx', sha256: sha('weights') },
        { file: 'vocab.json', sha256: sha('[]') },
      ],
    };
    hashings = 0;
    states = new ArtifactStates({ DATA_DIR: dataDir }, (...args) => {
      hashings += 1;
      return artifactStatus(...args);
    });
  });

  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('hashes once and answers from the cache while the files are unchanged', async () => {
    const [a, b] = await Promise.all([states.stateOf(manifest), states.stateOf(manifest)]);
    expect([a, b]).toEqual(['present', 'present']);
    expect(await states.stateOf(manifest)).toBe('present');
    expect(hashings).toBe(1);
  });

  it('hashes again when a file changes, and reports it corrupt', async () => {
    expect(await states.stateOf(manifest)).toBe('present');
    // Same size, other bytes: only the stat's times tell.
    writeFileSync(path.join(dir, 'model.onnx'), 'weighty');
    expect(await states.stateOf(manifest)).toBe('corrupt');
    expect(hashings).toBe(2);
    writeFileSync(path.join(dir, 'model.onnx'), 'weights');
    expect(await states.stateOf(manifest)).toBe('present');
  });

  it('says missing for an absent file or a version not pinned yet, without hashing', async () => {
    unlinkSync(path.join(dir, 'vocab.json'));
    expect(await states.stateOf(manifest)).toBe('missing');
    const unpinned = { ...manifest, artifacts: [{ file: 'model.onnx' }] };
    expect(await states.stateOf(unpinned)).toBe('missing');
    expect(hashings).toBe(0);
  });
});
