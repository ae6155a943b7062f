import { onnx } from 'onnx-proto';
import type { TfAttr, TfjsGraph, TfNode, TfWeight } from './tfjs-graph';

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;
type ElemType = onnx.TensorProto.DataType;

const OPSET = 18;
const IR_VERSION = 8;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** TF DataType enum values that occur in graph attributes. */
const TF_FLOAT = 1;
const TF_INT32 = 3;
const TF_INT64 = 9;
const TF_BOOL = 10;

/**
 * Integers are int64 everywhere in the converted graph: ONNX's shape ops produce int64, and one
 * integer type means no casts between TF's int32 and ONNX's int64.
 */
function onnxType(tfType: number): ElemType {
  switch (tfType) {
    case TF_FLOAT:
      return DataType.FLOAT;
    case TF_INT32:
    case TF_INT64:
      return DataType.INT64;
    case TF_BOOL:
      return DataType.BOOL;
    default:
      throw new Error(`unsupported TF dtype ${tfType}`);
  }
}

/** TF binary elementwise ops and their ONNX names (broadcasting is the same in both). */
const ELEMENTWISE = {
  Add: 'Add',
  BiasAdd: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
} as const;

export interface ConvertOptions {
  /** Graph inputs: TF placeholder name → ONNX element type and shape (-1 for dynamic). */
  inputs: Record<string, { type: 'int64' | 'float32'; shape: readonly number[] }>;
  /** Name of the single graph output. */
  outputName: string;
  producer: { name: string; version: string };
  docString?: string;
  /**
   * `int8`: dynamic quantization of every MatMul with a constant weight (the dense, 1×1 conv and
   * feed-forward layers): weights stored as int8 with one scale per output column, activations
   * quantized to uint8 per batch at run time, products accumulated in int32. @defaultValue 'none'
   */
  quantization?: 'none' | 'int8';
}

/** Symmetric per-column int8 quantization of a [K, N] weight matrix. */
export function quantizeColumns(
  weight: Float32Array,
  k: number,
  n: number,
): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(n);
  for (let col = 0; col < n; col++) {
    let max = 0;
    for (let row = 0; row < k; row++) max = Math.max(max, Math.abs(weight[row * n + col]!));
    scales[col] = max > 0 ? max / 127 : 1;
  }
  const q = new Int8Array(k * n);
  for (let row = 0; row < k; row++) {
    for (let col = 0; col < n; col++) {
      q[row * n + col] = Math.max(-127, Math.min(127, Math.round(weight[row * n + col]! / scales[col]!)));
    }
  }
  return { q, scales };
}

interface ConstValue {
  dims: number[];
  values: number[];
}

function attrInt(node: TfNode, name: string, fallback = 0): number {
  const v = node.attr?.[name]?.i;
  return v === undefined ? fallback : Number(v);
}

function attrBool(node: TfNode, name: string): boolean {
  return node.attr?.[name]?.b === true;
}

function attrInts(node: TfNode, name: string): number[] {
  return (node.attr?.[name]?.list?.i ?? []).map(Number);
}

function attrType(node: TfNode, name: string): number {
  const t: TfAttr | undefined = node.attr?.[name];
  if (t?.type === undefined) throw new Error(`${node.name}: missing type attribute ${name}`);
  return t.type;
}

/** The ONNX value name for a TF input reference (`node`, `node:0` and `node:1` style). */
function valueName(ref: string): string {
  return ref.endsWith(':0') ? ref.slice(0, -2) : ref;
}

function int64Bytes(values: (number | bigint)[]): Uint8Array {
  const array = BigInt64Array.from(values.map((v) => (typeof v === 'bigint' ? v : BigInt(v))));
  return new Uint8Array(array.buffer);
}

/**
 * Translates a TF.js GraphModel into an ONNX model, op by op. It supports the ops the
 * Universal Sentence Encoder lite graph uses (and fails loudly on any other), keeps every
 * computation the TF graph does (no retraining, no approximation), and maps:
 * - 1×1 stride-1 `Conv2D` (NHWC) to `MatMul` over the channel axis (same arithmetic, no layout change);
 * - `ScatterNd` to `ScatterND` with `reduction="add"` onto zeros, as TF sums duplicate indices;
 * - `Where` (one input) to `NonZero` + `Transpose`, since TF returns coordinates row-wise.
 */
export function convertTfjsToOnnx(graph: TfjsGraph, options: ConvertOptions): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const emitted = new Set<string>();
  const types = new Map<string, ElemType>();
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  let counter = 0;

  const fresh = (hint: string) => `${hint}__${counter++}`;

  const constOf = (ref: string): ConstValue => {
    const node = byName.get(valueName(ref));
    const weight: TfWeight | undefined = node ? graph.weights.get(node.name) : undefined;
    if (!node || node.op !== 'Const' || !weight) throw new Error(`${ref} must be a constant here`);
    return { dims: weight.shape, values: Array.from(weight.data) };
  };

  const addInitializer = (name: string, type: ElemType, dims: number[], raw: Uint8Array) => {
    initializers.push({ name, dataType: type, dims, rawData: raw });
    types.set(name, type);
    emitted.add(name);
  };

  const int64Const = (hint: string, values: (number | bigint)[], dims = [values.length]): string => {
    const name = fresh(hint);
    addInitializer(name, DataType.INT64, dims, int64Bytes(values));
    return name;
  };

  /** A TF input as an ONNX value name, emitting the constant it refers to on first use. */
  const use = (ref: string): string => {
    const name = valueName(ref);
    if (emitted.has(name)) return name;
    const node = byName.get(name);
    const weight = node?.op === 'Const' ? graph.weights.get(name) : undefined;
    if (weight) {
      if (weight.dtype === 'float32') {
        const f = weight.data as Float32Array;
        addInitializer(
          name,
          DataType.FLOAT,
          weight.shape,
          new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
        );
      } else {
        addInitializer(name, DataType.INT64, weight.shape, int64Bytes(Array.from(weight.data)));
      }
      return name;
    }
    if (!types.has(name)) throw new Error(`${ref} is used before it is computed`);
    return name;
  };

  const typeOf = (ref: string): ElemType => {
    const t = types.get(use(ref));
    if (t === undefined) throw new Error(`unknown type for ${ref}`);
    return t;
  };

  const attribute = (
    name: string,
    value: number | number[] | string | onnx.ITensorProto,
  ): onnx.IAttributeProto => {
    if (typeof value === 'number') {
      return Number.isInteger(value)
        ? { name, type: AttributeType.INT, i: value }
        : { name, type: AttributeType.FLOAT, f: value };
    }
    if (typeof value === 'string') return { name, type: AttributeType.STRING, s: Buffer.from(value) };
    if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
    return { name, type: AttributeType.TENSOR, t: value };
  };

  const emit = (
    op: string,
    inputs: string[],
    outputs: string[],
    type: ElemType,
    attrs: Record<string, number | number[] | string | onnx.ITensorProto> = {},
  ): string => {
    nodes.push({
      opType: op,
      input: inputs,
      output: outputs,
      name: fresh(op),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    for (const o of outputs) types.set(o, type);
    return outputs[0]!;
  };

  const quantize = options.quantization === 'int8';

  /** y = x · W with W int8 per column and x quantized to uint8 on the fly (ONNX dynamic quantization). */
  const quantizedMatMul = (input: string, weight: Float32Array, k: number, n: number, out: string) => {
    const { q, scales } = quantizeColumns(weight, k, n);
    const wName = fresh(`${out}/w_int8`);
    addInitializer(wName, DataType.INT8, [k, n], new Uint8Array(q.buffer));
    const sName = fresh(`${out}/w_scale`);
    addInitializer(sName, DataType.FLOAT, [n], new Uint8Array(scales.buffer));
    const xq = fresh(`${out}/x_q`);
    const xs = fresh(`${out}/x_scale`);
    const xz = fresh(`${out}/x_zero`);
    emit('DynamicQuantizeLinear', [input], [xq, xs, xz], DataType.UINT8);
    types.set(xs, DataType.FLOAT);
    const acc = emit('MatMulInteger', [xq, wName, xz], [fresh(`${out}/acc`)], DataType.INT32);
    const accF = emit('Cast', [acc], [fresh(`${out}/acc_f`)], DataType.FLOAT, { to: DataType.FLOAT });
    const scale = emit('Mul', [xs, sName], [fresh(`${out}/scale`)], DataType.FLOAT);
    emit('Mul', [accF, scale], [out], DataType.FLOAT);
  };

  // Graph inputs.
  const graphInputs: onnx.IValueInfoProto[] = [];
  for (const [name, spec] of Object.entries(options.inputs)) {
    const elemType = spec.type === 'int64' ? DataType.INT64 : DataType.FLOAT;
    types.set(name, elemType);
    emitted.add(name);
    graphInputs.push({
      name,
      type: {
        tensorType: {
          elemType,
          shape: { dim: spec.shape.map((d, i) => (d < 0 ? { dimParam: `${name}_d${i}` } : { dimValue: d })) },
        },
      },
    });
  }

  const convertNode = (node: TfNode): void => {
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const out = node.name;
    const x = (i: number) => use(inputs[i]!);
    const same = () => typeOf(inputs[0]!);
    switch (node.op) {
      case 'Const':
      case 'Placeholder':
        return;
      case 'Identity':
        emit('Identity', [x(0)], [out], same());
        return;
      case 'Add':
      case 'BiasAdd':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
        emit(ELEMENTWISE[node.op], [x(0), x(1)], [out], same());
        return;
      case 'Square':
        emit('Mul', [x(0), x(0)], [out], same());
        return;
      case 'Rsqrt': {
        const root = emit('Sqrt', [x(0)], [fresh(`${out}/sqrt`)], same());
        emit('Reciprocal', [root], [out], same());
        return;
      }
      case 'Sin':
      case 'Cos':
      case 'Relu':
      case 'Tanh':
        emit(node.op, [x(0)], [out], same());
        return;
      case 'Softmax':
        emit('Softmax', [x(0)], [out], same(), { axis: -1 });
        return;
      case 'Greater':
      case 'Less':
        emit(node.op, [x(0), x(1)], [out], DataType.BOOL);
        return;
      case 'LogicalNot':
        emit('Not', [x(0)], [out], DataType.BOOL);
        return;
      case 'Cast': {
        const to = onnxType(attrType(node, 'DstT'));
        emit('Cast', [x(0)], [out], to, { to });
        return;
      }
      case 'Shape':
        emit('Shape', [x(0)], [out], DataType.INT64);
        return;
      case 'Where': {
        const nz = emit('NonZero', [x(0)], [fresh(`${out}/nonzero`)], DataType.INT64);
        emit('Transpose', [nz], [out], DataType.INT64, { perm: [1, 0] });
        return;
      }
      case 'Reshape':
        emit('Reshape', [x(0), x(1)], [out], same());
        return;
      case 'ExpandDims': {
        const axis = constOf(inputs[1]!).values;
        emit('Unsqueeze', [x(0), int64Const(`${out}/axes`, axis)], [out], same());
        return;
      }
      case 'Squeeze': {
        const axes = attrInts(node, 'squeeze_dims');
        if (axes.length === 0) throw new Error(`${out}: Squeeze without explicit dims is not supported`);
        emit('Squeeze', [x(0), int64Const(`${out}/axes`, axes)], [out], same());
        return;
      }
      case 'Transpose':
        emit('Transpose', [x(0)], [out], same(), { perm: constOf(inputs[1]!).values });
        return;
      case 'ConcatV2': {
        const n = attrInt(node, 'N');
        const axis = constOf(inputs[n]!).values[0]!;
        emit(
          'Concat',
          inputs.slice(0, n).map((_, i) => x(i)),
          [out],
          same(),
          { axis },
        );
        return;
      }
      case 'Pack': {
        const axis = attrInt(node, 'axis');
        const axes = int64Const(`${out}/axes`, [axis]);
        const parts = inputs.map((_, i) =>
          emit('Unsqueeze', [x(i), axes], [fresh(`${out}/part`)], typeOf(inputs[i]!)),
        );
        emit('Concat', parts, [out], same(), { axis });
        return;
      }
      case 'GatherV2': {
        if (attrInt(node, 'batch_dims') !== 0)
          throw new Error(`${out}: GatherV2 batch_dims is not supported`);
        const axis = constOf(inputs[2]!).values[0]!;
        emit('Gather', [x(0), x(1)], [out], same(), { axis });
        return;
      }
      case 'GatherNd':
        emit('GatherND', [x(0), x(1)], [out], same());
        return;
      case 'ScatterNd': {
        // TF: zeros of `shape`, then updates added at indices (duplicates summed).
        const updatesType = typeOf(inputs[1]!);
        const zero: onnx.ITensorProto =
          updatesType === DataType.FLOAT
            ? { dataType: DataType.FLOAT, dims: [1], floatData: [0] }
            : { dataType: DataType.INT64, dims: [1], rawData: int64Bytes([0]) };
        const zeros = emit('ConstantOfShape', [x(2)], [fresh(`${out}/zeros`)], updatesType, { value: zero });
        emit('ScatterND', [zeros, x(0), x(1)], [out], updatesType, { reduction: 'add' });
        return;
      }
      case 'SparseToDense': {
        // (sparse_indices, output_shape, sparse_values, default_value)
        const valuesType = typeOf(inputs[2]!);
        const dense = emit('Expand', [x(3), x(1)], [fresh(`${out}/default`)], valuesType);
        emit('ScatterND', [dense, x(0), x(2)], [out], valuesType);
        return;
      }
      case 'Max':
      case 'Mean':
      case 'Sum':
      case 'Prod': {
        const op = { Max: 'ReduceMax', Mean: 'ReduceMean', Sum: 'ReduceSum', Prod: 'ReduceProd' }[node.op];
        const axes = constOf(inputs[1]!).values;
        emit(op, [x(0), int64Const(`${out}/axes`, axes)], [out], same(), {
          keepdims: attrBool(node, 'keep_dims') ? 1 : 0,
        });
        return;
      }
      case 'MatMul': {
        const weightRef = valueName(inputs[1]!);
        const weight = byName.get(weightRef)?.op === 'Const' ? graph.weights.get(weightRef) : undefined;
        if (
          quantize &&
          weight?.dtype === 'float32' &&
          weight.shape.length === 2 &&
          !attrBool(node, 'transpose_a') &&
          !attrBool(node, 'transpose_b')
        ) {
          quantizedMatMul(x(0), weight.data as Float32Array, weight.shape[0]!, weight.shape[1]!, out);
          return;
        }
        const a = attrBool(node, 'transpose_a')
          ? emit('Transpose', [x(0)], [fresh(`${out}/at`)], same(), { perm: [1, 0] })
          : x(0);
        const b = attrBool(node, 'transpose_b')
          ? emit('Transpose', [x(1)], [fresh(`${out}/bt`)], same(), { perm: [1, 0] })
          : x(1);
        emit('MatMul', [a, b], [out], same());
        return;
      }
      case 'BatchMatMul':
      case 'BatchMatMulV2': {
        // The encoder's attention multiplies rank-4 [batch, heads, time, depth] tensors.
        const swap = [0, 1, 3, 2];
        const a = attrBool(node, 'adj_x')
          ? emit('Transpose', [x(0)], [fresh(`${out}/at`)], same(), { perm: swap })
          : x(0);
        const b = attrBool(node, 'adj_y')
          ? emit('Transpose', [x(1)], [fresh(`${out}/bt`)], same(), { perm: swap })
          : x(1);
        emit('MatMul', [a, b], [out], same());
        return;
      }
      case 'Conv2D': {
        const kernel = constOf(inputs[1]!);
        const [kh, kw, cin, cout] = kernel.dims;
        const strides = attrInts(node, 'strides');
        const dilations = attrInts(node, 'dilations');
        if (kh !== 1 || kw !== 1 || strides.some((s) => s !== 1) || dilations.some((d) => d !== 1)) {
          throw new Error(`${out}: only 1×1, stride-1 Conv2D is supported`);
        }
        const weight = graph.weights.get(valueName(inputs[1]!))!;
        const f = weight.data as Float32Array;
        if (quantize) {
          quantizedMatMul(x(0), f, cin!, cout!, out);
          return;
        }
        const name = fresh(`${out}/kernel`);
        addInitializer(
          name,
          DataType.FLOAT,
          [cin!, cout!],
          new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
        );
        emit('MatMul', [x(0), name], [out], DataType.FLOAT);
        return;
      }
      case 'SplitV': {
        const n = attrInt(node, 'num_split');
        const sizes = constOf(inputs[1]!).values;
        if (sizes.some((s) => s < 0))
          throw new Error(`${out}: SplitV with an inferred size is not supported`);
        const axis = constOf(inputs[2]!).values[0]!;
        const outputs = Array.from({ length: n }, (_, i) => (i === 0 ? out : `${out}:${i}`));
        emit('Split', [x(0), int64Const(`${out}/split`, sizes)], outputs, same(), { axis });
        return;
      }
      case 'Slice': {
        const begin = constOf(inputs[1]!).values;
        const size = constOf(inputs[2]!).values;
        const ends = size.map((s, i) => (s === -1 ? INT64_MAX : BigInt(begin[i]! + s)));
        emit(
          'Slice',
          [
            x(0),
            int64Const(`${out}/starts`, begin),
            int64Const(`${out}/ends`, ends),
            int64Const(
              `${out}/axes`,
              begin.map((_, i) => i),
            ),
          ],
          [out],
          same(),
        );
        return;
      }
      case 'StridedSlice': {
        if (attrInt(node, 'ellipsis_mask') !== 0 || attrInt(node, 'new_axis_mask') !== 0) {
          throw new Error(`${out}: StridedSlice with ellipsis or new-axis masks is not supported`);
        }
        const begin = constOf(inputs[1]!).values;
        const end = constOf(inputs[2]!).values;
        const strides = constOf(inputs[3]!).values;
        const beginMask = attrInt(node, 'begin_mask');
        const endMask = attrInt(node, 'end_mask');
        const shrinkMask = attrInt(node, 'shrink_axis_mask');
        const starts: bigint[] = [];
        const ends: bigint[] = [];
        const shrink: number[] = [];
        begin.forEach((b, i) => {
          const step = strides[i]!;
          const bit = 1 << i;
          if (shrinkMask & bit) {
            starts.push(BigInt(b));
            ends.push(b === -1 ? INT64_MAX : BigInt(b + 1));
            shrink.push(i);
            return;
          }
          starts.push(beginMask & bit ? (step > 0 ? 0n : INT64_MAX) : BigInt(b));
          ends.push(endMask & bit ? (step > 0 ? INT64_MAX : INT64_MIN) : BigInt(end[i]!));
        });
        const axes = begin.map((_, i) => i);
        const sliced = emit(
          'Slice',
          [
            x(0),
            int64Const(`${out}/starts`, starts),
            int64Const(`${out}/ends`, ends),
            int64Const(`${out}/axes`, axes),
            int64Const(
              `${out}/steps`,
              strides.map((s, i) => ((shrinkMask >> i) & 1 ? 1 : s)),
            ),
          ],
          [shrink.length ? fresh(`${out}/sliced`) : out],
          same(),
        );
        if (shrink.length) emit('Squeeze', [sliced, int64Const(`${out}/shrink`, shrink)], [out], same());
        return;
      }
      case 'Range':
        emit('Range', [x(0), x(1), x(2)], [out], same());
        return;
      default:
        throw new Error(`${out}: TF op ${node.op} is not supported by the converter`);
    }
  };

  // TF.js does not promise a topological order; ONNX requires one.
  const order: TfNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (node: TfNode) => {
    const s = state.get(node.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`cycle at ${node.name}`);
    state.set(node.name, 'visiting');
    for (const ref of node.input ?? []) {
      const dep = byName.get(ref.replace(/^\^/, '').split(':')[0]!);
      if (dep) visit(dep);
    }
    state.set(node.name, 'done');
    order.push(node);
  };
  graph.nodes.forEach(visit);

  const consumed = new Set(
    graph.nodes.flatMap((n) => (n.input ?? []).map((i) => i.replace(/^\^/, '').split(':')[0]!)),
  );
  const sinks = graph.nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const');
  if (sinks.length !== 1)
    throw new Error(`expected one graph output, found ${sinks.map((s) => s.name).join(', ')}`);

  for (const node of order) convertNode(node);
  const result = sinks[0]!.name;
  emit('Identity', [result], [options.outputName], typeOf(result));

  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: options.producer.name,
    producerVersion: options.producer.version,
    docString: options.docString ?? '',
    graph: {
      name: 'tributary',
      node: nodes,
      initializer: initializers,
      input: graphInputs,
      output: [{ name: options.outputName, type: { tensorType: { elemType: typeOf(result) } } }],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
