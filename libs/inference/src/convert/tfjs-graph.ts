import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One attribute value of a TF GraphDef node, as TF.js's model.json spells it. */
export interface TfAttr {
  i?: string;
  b?: boolean;
  f?: number;
  s?: number[] | string;
  type?: number;
  list?: { i?: string[] };
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export type TfDtype = 'float32' | 'int32';

/** A constant's value, read from the weight shards. */
export interface TfWeight {
  dtype: TfDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TfjsGraph {
  nodes: TfNode[];
  weights: Map<string, TfWeight>;
}

interface ModelJson {
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

/**
 * Reads a TF.js GraphModel (`model.json` and its binary weight shards). Weights are laid end to
 * end across the shards of a group, in manifest order.
 */
export function readTfjsGraph(modelJsonPath: string): TfjsGraph {
  const dir = path.dirname(modelJsonPath);
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as ModelJson;
  const weights = new Map<string, TfWeight>();
  for (const group of json.weightsManifest) {
    const buffer = Buffer.concat(group.paths.map((p) => readFileSync(path.join(dir, p))));
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' && w.dtype !== 'int32') {
        throw new Error(`weight ${w.name}: unsupported dtype ${w.dtype}`);
      }
      const count = w.shape.reduce((a, b) => a * b, 1);
      const bytes = buffer.subarray(offset, offset + count * 4);
      const copy = new ArrayBuffer(count * 4);
      new Uint8Array(copy).set(bytes);
      weights.set(w.name, {
        dtype: w.dtype,
        shape: w.shape,
        data: w.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy),
      });
      offset += count * 4;
    }
    if (offset !== buffer.length) {
      throw new Error(`weight shards hold ${buffer.length} bytes but the manifest describes ${offset}`);
    }
  }
  return { nodes: json.modelTopology.node, weights };
}
