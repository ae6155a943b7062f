// One ONNX Runtime session on a worker thread. Plain CommonJS so that it loads the same way under
// the apps, the tests and any runner, without a TypeScript loader. Model-agnostic: it receives
// ready-made feeds and returns the named output.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');

const { modelPath, outputName, intraOpThreads, executionProviders, niceness } = workerData;

async function main() {
  // On Linux the nice value belongs to the thread: this lowers this session's thread alone (with
  // intra-op threads at 1, ONNX Runtime computes on it). Lowering needs no privilege.
  if (niceness) require('node:os').setPriority(0, niceness);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders,
  });
  parentPort.on('message', async (message) => {
    try {
      const feeds = {};
      for (const [name, feed] of Object.entries(message.feeds)) {
        feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
      }
      const started = process.hrtime.bigint();
      const outputs = await session.run(feeds, [outputName]);
      const inferSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const output = outputs[outputName];
      const data = new Float32Array(output.data);
      parentPort.postMessage({ id: message.id, data, dims: output.dims, inferSeconds }, [data.buffer]);
    } catch (err) {
      parentPort.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  parentPort.postMessage({ ready: true });
}

main().catch((err) => parentPort.postMessage({ fatal: err instanceof Error ? err.message : String(err) }));
