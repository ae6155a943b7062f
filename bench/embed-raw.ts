// Raw ONNX Runtime throughput of use-lite fp32 and int8 on pre-tokenised twelve-word sentences,
// measured in one run (best batch size of each). Prints one JSON object.
import {
  buildUseLiteOnnx,
  loadUseLiteTokenizer,
  UseLiteEmbedder,
  type UseLiteVersion,
} from '@tributary/inference';

const WORDS = 'the a stream of tweets about weather sports markets music travel food code news today'.split(
  ' ',
);

function sentence(i: number): string {
  return Array.from({ length: 12 }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ') + ` ${i}`;
}

async function itemsPerSecond(
  version: UseLiteVersion,
  rows: number[][],
  batch: number,
  threads: number,
): Promise<number> {
  const embedder = await UseLiteEmbedder.create(buildUseLiteOnnx(version), loadUseLiteTokenizer(), {
    intraOpThreads: threads,
  });
  try {
    await embedder.embedTokens(rows.slice(0, batch)); // warm-up
    const started = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += batch) await embedder.embedTokens(rows.slice(i, i + batch));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return rows.length / seconds;
  } finally {
    await embedder.release();
  }
}

async function main(): Promise<void> {
  const tokenizer = loadUseLiteTokenizer();
  const rows = Array.from({ length: 2048 }, (_, i) => tokenizer.encode(sentence(i)));
  const threads = 2;
  const result: Record<string, number | string> = { model: 'use-lite@1', threads, items: rows.length };
  for (const [key, version] of [
    ['raw_ort_items_per_s', 'use-lite@1'],
    ['int8_raw_ort_items_per_s', 'use-lite-int8@1'],
  ] as const) {
    let best = 0;
    for (const batch of [16, 32, 64, 128]) {
      const rate = await itemsPerSecond(version, rows, batch, threads);
      result[`${key}_b${batch}`] = Math.round(rate);
      best = Math.max(best, rate);
    }
    result[key] = Math.round(best);
  }
  result['int8_over_fp32'] = Number(
    ((result['int8_raw_ort_items_per_s'] as number) / (result['raw_ort_items_per_s'] as number)).toFixed(3),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
