// npm run bench:rollout — a model rollout's figures, measured in one run on this machine: a
// collection of 30,000 stored tweet-length texts (`--items N` or BENCH_ITEMS) rolled from
// use-lite@1 to use-lite-int8@1 over real processes (the API and one worker serving both models,
// real PostgreSQL and Redis, the embedded vector store):
// - the backfill's items/minute against the engine alone embedding the same texts with the
//   candidate model and the worker's settings (measured before and after the rollout; the mean);
// - live freshness (accepted → counted searchable by the stream) of a second stream at a steady
//   moderate rate, idle and during the backfill;
// - search latency, errors and answering versions of concurrent searches across promote and
//   rollback, and the time from each call's start until every search answers with the new version.
// Prints one JSON object.
import 'reflect-metadata';
import { availableParallelism } from 'node:os';
import { waitUntil } from '@tributary/testing';
import {
  api,
  cpuUsed,
  engineRun,
  freshness,
  ingestSearchable,
  percentile,
  pinProcess,
  prepareModels,
  round,
  startBenchPlatform,
  tweet,
  waitForQuiet,
  workerSettings,
  type BenchPlatform,
  type CpuPinning,
  type CpuSample,
} from './support';

const flag = (name: string): string | undefined => {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  return args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
};
// `--from` / `--to` (or BENCH_FROM / BENCH_TO) roll the other way, e.g. int8 → fp32.
const FROM = flag('from') ?? process.env['BENCH_FROM'] ?? 'use-lite@1';
const TO = flag('to') ?? process.env['BENCH_TO'] ?? 'use-lite-int8@1';
const ITEMS = Number(flag('items') ?? process.env['BENCH_ITEMS'] ?? 30_000);
/** How long freshness is measured, idle and during the backfill. */
const FRESH_SECONDS = Number(process.env['BENCH_FRESH_SECONDS'] ?? 20);
const FRESH_BATCH = 10;
/** Concurrent search clients during the cutover. */
const SEARCH_CLIENTS = 4;
/** Answers collected before the first call, between the calls and after the last. */
const SEARCHES_PER_PHASE = 300;
const ADMIN_KEY = 'trb_admin_bench-rollout-key-0123456789';
/**
 * `--pin` (or BENCH_PIN=1): the worker on the last CPU alone and everything else on the others, and
 * the engine alone measured on the worker's CPU, as when workers run on machines of their own.
 * Without it every process shares every CPU.
 */
const PIN: CpuPinning | undefined =
  process.argv.includes('--pin') || process.env['BENCH_PIN'] === '1'
    ? { worker: String(availableParallelism() - 1), rest: `0-${Math.max(0, availableParallelism() - 2)}` }
    : undefined;

interface RolloutView {
  id: string;
  state: string;
  backfill: {
    done: number;
    total: number;
    itemsPerSecond: number | null;
    startedAt: string | null;
    finishedAt: string | null;
  };
  comparison: null | { overlapAt10: number };
}

interface Answer {
  start: number;
  end: number;
  ok: boolean;
  model: string | undefined;
}

/** Searches from `clients` concurrent loops until stopped; each answer's version and timing. */
function searchLoop(base: string, key: string, queries: string[], clients: number) {
  const answers: Answer[] = [];
  let running = true;
  let n = 0;
  const client = async () => {
    while (running) {
      const query = queries[n++ % queries.length]!;
      const start = performance.now();
      try {
        const response = await fetch(`${base}/v1/collections/docs/search`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query, k: 10 }),
        });
        const body = (await response.json()) as { model?: string };
        const header = response.headers.get('x-tributary-model') ?? undefined;
        // An answer whose header and body name different versions counts as a mix (and an error).
        const ok = response.status === 200 && body.model !== undefined && header === body.model;
        answers.push({ start, end: performance.now(), ok, model: ok ? body.model : undefined });
      } catch {
        answers.push({ start, end: performance.now(), ok: false, model: undefined });
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, client));
  return {
    answers,
    /** Resolves once `count` answers to searches started after `since` have arrived. */
    answeredAfter: (since: number, count: number) =>
      waitUntil(
        `${count} searches after the call`,
        () => Promise.resolve(answers.filter((a) => a.start >= since).length >= count),
        120_000,
        10,
      ),
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/**
 * From a call's start, the time until the first search after which every search (by start) of
 * the phase answered with `model`.
 */
function switchMs(answers: Answer[], from: number, to: number, model: string): number | null {
  const phase = answers.filter((a) => a.start >= from && a.start < to).sort((a, b) => a.start - b.start);
  let first: Answer | undefined;
  for (const a of phase) {
    if (a.model !== model) first = undefined;
    else first ??= a;
  }
  return first ? round(first.start - from, 2) : null;
}

async function main(): Promise<void> {
  let platform: BenchPlatform | undefined;
  try {
    await prepareModels();
    const texts = Array.from({ length: ITEMS }, (_, i) => tweet(i));
    // One worker serving both models' queues, live and backfill.
    const worker = workerSettings({ MODELS: `${FROM},${TO}`, WORKER_QUEUES: 'all' });
    // The engine alone with the candidate, before and after the rollout (the machine's speed drifts).
    const measureEngine = async () => {
      // Pinned, the engine runs on the worker's CPU (and sizes its sessions to it).
      if (PIN) pinProcess(process.pid, PIN.worker);
      try {
        return await engineRun(worker, TO, texts.slice(0, Math.min(ITEMS, 5_000)));
      } finally {
        if (PIN) pinProcess(process.pid, PIN.rest);
      }
    };
    const engineRuns = [await measureEngine()];

    platform = await startBenchPlatform({
      bench: 'bench:rollout',
      adminKey: ADMIN_KEY,
      env: { MODELS: `${FROM},${TO}` },
      workerEnv: worker,
      cpus: PIN,
    });
    const { base, key, cpu } = platform;
    const streamOf = async (name: string) =>
      (await api(base, 'POST', '/v1/streams', key, { name, kind: 'text', model: FROM, collection: name }))
        .body as { id: string };
    const counters = async (streamId: string) =>
      (await api(base, 'GET', `/v1/streams/${streamId}`, key)).body.counters as {
        accepted: number;
        searchable: number;
      };
    const docs = await streamOf('docs');
    const fresh = await streamOf('fresh');
    // Warm the worker (models load, first batches) before timing.
    for (const stream of [docs, fresh]) {
      await api(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
        items: [{ id: 'warm', text: 'warm up' }],
      });
    }
    await waitUntil(
      'the worker to warm up',
      async () => (await counters(docs.id)).searchable === 1 && (await counters(fresh.id)).searchable === 1,
      120_000,
      100,
    );

    // 1. The stored collection (its load rate sets the live rate below).
    const loadStarted = performance.now();
    await ingestSearchable({
      base,
      key,
      streamId: docs.id,
      count: ITEMS,
      text: tweet,
      searchable: async () => (await counters(docs.id)).searchable,
      already: 1,
    });
    const loadRate = (ITEMS / (performance.now() - loadStarted)) * 60_000;
    await waitForQuiet(cpu);

    // 2. Live freshness of another stream at a quarter of the load rate (or BENCH_FRESH_RATE items/s,
    //    to compare runs at one rate): idle, then during the backfill.
    const perSecond = Number(process.env['BENCH_FRESH_RATE'] ?? loadRate / 60 / 4);
    let freshSent = 1;
    const measureFreshness = async (until?: () => boolean) => {
      const latencies = await freshness({
        base,
        key,
        streamId: fresh.id,
        perSecond,
        batchSize: FRESH_BATCH,
        batches: Math.max(20, Math.round((FRESH_SECONDS * perSecond) / FRESH_BATCH)),
        have: async () => (await counters(fresh.id)).searchable,
        text: (n) => `fresh ${tweet(ITEMS + n)}`,
        start: freshSent,
        ...(until ? { until } : {}),
      });
      freshSent += latencies.length * FRESH_BATCH;
      return latencies;
    };
    const idle = await measureFreshness();
    await waitForQuiet(cpu);

    // 3. The backfill, with live items arriving during its first FRESH_SECONDS.
    const cpuBefore = cpu();
    const created = await api(base, 'POST', '/v1/collections/docs/rollouts', key, { model: TO });
    if (created.status !== 201) throw new Error(`the rollout answered ${created.status}`);
    const rolloutUrl = `/v1/collections/docs/rollouts/${(created.body as RolloutView).id}`;
    let rollout = created.body as RolloutView;
    const samples: { at: number; done: number; cpu: CpuSample }[] = [];
    const watcher = (async () => {
      while (rollout.state === 'backfilling') {
        await new Promise((r) => setTimeout(r, 250));
        rollout = (await api(base, 'GET', rolloutUrl, key)).body as RolloutView;
        samples.push({ at: performance.now(), done: rollout.backfill.done, cpu: cpu() });
      }
    })();
    await waitUntil(
      'the backfill to be under way',
      () => Promise.resolve(rollout.backfill.done > 0),
      120_000,
      50,
    );
    const during = await measureFreshness(() => rollout.state !== 'backfilling');
    const freshEnded = performance.now();
    await watcher;
    if (rollout.state !== 'ready') throw new Error(`the rollout ended ${rollout.state}`);
    const cpuAfter = cpu();
    if (process.env['BENCH_PROFILE']) {
      // The backfill's window on the monotonic clock the CPU profiles' timestamps use (µs).
      const us = (at: number) =>
        Math.round((at - performance.now()) * 1000 + Number(process.hrtime.bigint() / 1000n));
      process.stderr.write(
        `bench:rollout: backfill window (µs) ${JSON.stringify({ start: us(samples[0]?.at ?? 0), alone: us(freshEnded), end: us(samples[samples.length - 1]!.at) })}\n`,
      );
    }
    const backfillSeconds =
      (Date.parse(rollout.backfill.finishedAt!) - Date.parse(rollout.backfill.startedAt!)) / 1000;
    const backfillRate = (rollout.backfill.done / backfillSeconds) * 60;
    // The backfill's rate once the live items stopped (from the rollout's progress, as polled).
    const afterFresh = samples.find((s) => s.at >= freshEnded);
    const last = samples[samples.length - 1]!;
    const aloneRate =
      afterFresh && last.at - afterFresh.at > 5_000
        ? ((last.done - afterFresh.done) / (last.at - afterFresh.at)) * 60_000
        : null;
    const perItem = (after: CpuSample, before: CpuSample, items: number) =>
      Object.fromEntries(
        Object.entries(cpuUsed(after, before)).map(([name, seconds]) => [
          name,
          round((seconds * 1000) / items, 3),
        ]),
      );
    // Where the CPU went once the live items stopped: what the backfill costs beyond the engine.
    const aloneCpuMsPerItem =
      aloneRate === null ? null : perItem(last.cpu, afterFresh!.cpu, last.done - afterFresh!.done);
    const backfillCpuMsPerItem = perItem(cpuAfter, cpuBefore, rollout.backfill.done);

    // 4. The cutover: the API records the comparison once the candidate is ready (an operator reads
    //    it before promoting); then concurrent searches across promote and rollback.
    await waitUntil(
      'the comparison',
      async () => ((await api(base, 'GET', rolloutUrl, key)).body as RolloutView).comparison !== null,
      300_000,
      250,
    );
    await waitForQuiet(cpu);
    const loop = searchLoop(
      base,
      key,
      Array.from({ length: 20 }, (_, i) => texts[(i * 997) % ITEMS]!),
      SEARCH_CLIENTS,
    );
    const calls: Record<'promote' | 'rollback', { start: number; ms: number; state: string }> = {} as never;
    try {
      await loop.answeredAfter(0, SEARCHES_PER_PHASE);
      for (const action of ['promote', 'rollback'] as const) {
        const start = performance.now();
        const r = await api(base, 'POST', `${rolloutUrl}/${action}`, key);
        const ms = performance.now() - start;
        if (r.status !== 200) throw new Error(`${action} answered ${r.status}: ${JSON.stringify(r.body)}`);
        calls[action] = { start, ms, state: (r.body as RolloutView).state };
        await loop.answeredAfter(start + ms, SEARCHES_PER_PHASE);
      }
    } finally {
      await loop.stop();
    }
    const answers = loop.answers;
    const latencies = answers.map((a) => a.end - a.start).sort((a, b) => a - b);
    const byModel: Record<string, number> = {};
    for (const a of answers) if (a.model) byModel[a.model] = (byModel[a.model] ?? 0) + 1;
    // Versions in the order the searches started: two changes (promote, rollback) when none flips back.
    const inOrder = [...answers].filter((a) => a.model).sort((a, b) => a.start - b.start);
    const changes = inOrder.filter((a, i) => i > 0 && a.model !== inOrder[i - 1]!.model).length;

    await waitForQuiet(cpu);
    engineRuns.push(await measureEngine());
    const engineRate = engineRuns.reduce((sum, r) => sum + r.itemsPerMin, 0) / engineRuns.length;
    const engineCpuMsPerItem = engineRuns.reduce((sum, r) => sum + r.cpuMsPerItem, 0) / engineRuns.length;
    const freshFigures = (sorted: number[]) => ({
      batches: sorted.length,
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
    });
    const idleFigures = freshFigures(idle);
    const duringFigures = freshFigures(during);

    process.stdout.write(
      `${JSON.stringify({
        items: ITEMS,
        cpu_pinning: PIN ?? null,
        from: FROM,
        to: TO,
        database: platform.database,
        vector_store: 'embedded',
        load_items_per_min: round(loadRate),
        backfill_items: rollout.backfill.done,
        backfill_seconds: round(backfillSeconds, 2),
        backfill_items_per_min: round(backfillRate),
        backfill_items_per_min_without_live: aloneRate === null ? null : round(aloneRate),
        engine_items_per_min: round(engineRate),
        engine_items_per_min_runs: engineRuns.map((r) => round(r.itemsPerMin)),
        backfill_over_engine: round(backfillRate / engineRate, 3),
        backfill_without_live_over_engine: aloneRate === null ? null : round(aloneRate / engineRate, 3),
        backfill_cpu_ms_per_item: backfillCpuMsPerItem,
        backfill_without_live_cpu_ms_per_item: aloneCpuMsPerItem,
        // The engine's CPU per item over the whole platform's while the backfill ran alone: the
        // ratio the backfill would reach with every core busy (the machine's processes share them).
        backfill_without_live_cpu_bound_over_engine:
          aloneCpuMsPerItem === null
            ? null
            : round(
                engineCpuMsPerItem / Object.values(aloneCpuMsPerItem).reduce((sum, ms) => sum + ms, 0),
                3,
              ),
        engine_cpu_ms_per_item: round(engineCpuMsPerItem, 3),
        freshness_rate_items_per_s: round(perSecond),
        freshness_batch: FRESH_BATCH,
        freshness_idle: idleFigures,
        freshness_during_backfill: duringFigures,
        freshness_p99_during_over_idle: round(duringFigures.p99_ms / idleFigures.p99_ms, 2),
        cutover_search_clients: SEARCH_CLIENTS,
        cutover_searches: answers.length,
        cutover_search_errors: answers.filter((a) => !a.ok).length,
        cutover_search_p50_ms: round(percentile(latencies, 50), 2),
        cutover_search_p99_ms: round(percentile(latencies, 99), 2),
        cutover_answers_by_model: byModel,
        cutover_version_changes: changes,
        promote_call_ms: round(calls.promote.ms, 2),
        promote_switch_ms: switchMs(answers, calls.promote.start, calls.rollback.start, TO),
        rollback_call_ms: round(calls.rollback.ms, 2),
        rollback_switch_ms: switchMs(answers, calls.rollback.start, Infinity, FROM),
        final_state: calls.rollback.state,
      })}\n`,
    );
  } finally {
    await platform?.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:rollout: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
