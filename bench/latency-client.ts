// The HTTP client of bench:embed, run in a process of its own so that its garbage collection and
// the benchmark's other phases do not land in the latencies it measures. Sequential requests on
// one keep-alive connection through node:http (Node's fetch adds about a millisecond per request
// and several at p99 on these machines, which would measure the client rather than the server).
//
// usage: latency-client <json-plan | @plan-file>; prints one JSON object of percentiles per phase.
// A plan is a list of phases run one after another, or `{ "interleave": [phases] }`: one request of
// each phase in turn, so that the machine's bursts of noise fall on every phase alike.
import { readFileSync } from 'node:fs';
import http from 'node:http';

interface Phase {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** Bodies to send, cycled through; `{i}` is replaced with the request's number (negative while warming up). */
  bodies?: string[];
  warmup: number;
  count: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(phase: Phase, i: number): Promise<number> {
  const n = phase.bodies?.length ?? 1;
  const body = phase.bodies?.[((i % n) + n) % n]!.replaceAll('{i}', String(i));
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(phase.url, { method: phase.method, headers: phase.headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode !== 200)
          reject(new Error(`${phase.method} ${phase.url} answered ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const [arg] = process.argv.slice(2);
  if (!arg) throw new Error('usage: latency-client <json-plan | @plan-file>');
  // Large plans (vector queries) come in a file: a command-line argument is limited to 128 KiB.
  const plan = arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg;
  const parsed = JSON.parse(plan) as Phase[] | { interleave: Phase[] };
  const results: Record<string, { p50: number; p90: number; p99: number; max: number }> = {};
  const record = (phase: Phase, times: number[]) => {
    times.sort((a, b) => a - b);
    results[phase.name] = {
      p50: percentile(times, 50),
      p90: percentile(times, 90),
      p99: percentile(times, 99),
      max: times[times.length - 1]!,
    };
  };
  if (Array.isArray(parsed)) {
    for (const phase of parsed) {
      for (let i = 0; i < phase.warmup; i++) await send(phase, -1 - i);
      const times: number[] = [];
      for (let i = 0; i < phase.count; i++) times.push(await send(phase, i));
      record(phase, times);
    }
  } else {
    const phases = parsed.interleave;
    const rounds = (pick: (p: Phase) => number) => Math.max(...phases.map(pick));
    for (let i = 0; i < rounds((p) => p.warmup); i++)
      for (const phase of phases) if (i < phase.warmup) await send(phase, -1 - i);
    const times = phases.map((): number[] => []);
    for (let i = 0; i < rounds((p) => p.count); i++)
      for (const [k, phase] of phases.entries()) if (i < phase.count) times[k]!.push(await send(phase, i));
    phases.forEach((phase, k) => record(phase, times[k]!));
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  agent.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`latency-client: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
