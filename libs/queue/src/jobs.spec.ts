import { jobOptions, queueJobs, queueNames, queueOf } from './jobs';

describe('job definitions', () => {
  it('gives every job bounded retries and bounded retention', () => {
    for (const queue of queueNames) {
      for (const job of queueJobs[queue]) {
        const options = jobOptions[job];
        expect(options.attempts).toBeGreaterThanOrEqual(1);
        expect(options.removeOnComplete).toEqual({ count: expect.any(Number) });
        expect(options.removeOnFail).toEqual({ count: expect.any(Number) });
      }
    }
  });

  it('puts each job on exactly one queue', () => {
    const all = queueNames.flatMap((q) => [...queueJobs[q]]);
    expect(new Set(all).size).toBe(all.length);
    expect(queueOf('ApiKeyUsageFlush')).toBe('maintenance');
  });
});
