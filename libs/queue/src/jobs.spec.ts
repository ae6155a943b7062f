import { loadConfig } from '@tributary/config';
import {
  backfillQueueName,
  embedQueueName,
  familyOf,
  jobNameOf,
  jobOptions,
  legacyJobNames,
  legacyNamesOf,
  queueFamilies,
  queueFamilyNames,
  queueOf,
  queuesFor,
  selfCheckQueueName,
  workerQueueNames,
  type JobName,
} from './jobs';

describe('job definitions', () => {
  it('gives every job bounded retries and bounded retention', () => {
    for (const family of queueFamilyNames) {
      for (const job of queueFamilies[family].jobs) {
        const options = jobOptions[job];
        expect(options.attempts).toBeGreaterThanOrEqual(1);
        // Completed jobs are either dropped at once or kept up to a count.
        if (options.removeOnComplete !== true)
          expect(options.removeOnComplete).toEqual({ count: expect.any(Number) });
        expect(options.removeOnFail).toEqual(expect.objectContaining({ count: expect.any(Number) }));
      }
    }
  });

  it('gives ItemEmbed five attempts with exponential backoff; finished jobs are dropped, failed ones kept for a week', () => {
    expect(jobOptions.ItemEmbed).toEqual({
      attempts: 5,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: true,
      removeOnFail: { count: 10_000, age: 7 * 24 * 3600 },
    });
  });

  it('puts each job in exactly one queue family, and every job in one', () => {
    const all = queueFamilyNames.flatMap((f) => [...queueFamilies[f].jobs]);
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual((Object.keys(jobOptions) as JobName[]).sort());
    expect(familyOf('ItemEmbed')).toBe('embed');
    expect(queueOf('ApiKeyUsageFlush')).toBe('maintenance');
    expect(queueOf('OrphanedItemsRequeue')).toBe('maintenance');
  });

  it('has one maintenance and one watch queue, and an embedding, a self-check and a backfill queue per model version', () => {
    expect(queuesFor(['use-lite@1', 'use-lite-int8@1'])).toEqual([
      { name: 'maintenance', family: 'maintenance' },
      { name: 'embed-use-lite-1', family: 'embed', model: 'use-lite@1' },
      { name: 'embed-use-lite-int8-1', family: 'embed', model: 'use-lite-int8@1' },
      { name: 'watch', family: 'watch' },
      { name: 'selfcheck-use-lite-1', family: 'selfcheck', model: 'use-lite@1' },
      { name: 'selfcheck-use-lite-int8-1', family: 'selfcheck', model: 'use-lite-int8@1' },
      { name: 'backfill-use-lite-1', family: 'backfill', model: 'use-lite@1' },
      { name: 'backfill-use-lite-int8-1', family: 'backfill', model: 'use-lite-int8@1' },
    ]);
    expect(workerQueueNames(['use-lite@1'])).toEqual([
      'maintenance',
      embedQueueName('use-lite@1'),
      'watch',
      selfCheckQueueName('use-lite@1'),
      backfillQueueName('use-lite@1'),
    ]);
    expect(queueFamilies.embed.jobs).toEqual(['ItemEmbed']);
    expect(queueFamilies.backfill.jobs).toEqual(['RolloutBackfill']);
    expect(queueFamilies.selfcheck.jobs).toEqual(['EmbeddingSelfCheck']);
  });

  it('sizes each queue family’s workers from its own settings', () => {
    const config = loadConfig({
      WORKER_CONCURRENCY: '3',
      EMBED_WORKER_CONCURRENCY: '24',
      EMBED_WORKER_LOCK_MS: '2000',
    });
    expect(queueFamilies.maintenance.worker(config)).toEqual({ concurrency: 3 });
    expect(queueFamilies.embed.worker(config)).toEqual({ concurrency: 24, lockDurationMs: 2000 });
    // One backfill job at a time per worker: live items keep the capacity.
    expect(queueFamilies.backfill.worker(config)).toEqual({ concurrency: 1, lockDurationMs: 2000 });
    expect(queueFamilies.watch.worker(config)).toEqual({ concurrency: 3 });
    expect(queueFamilies.selfcheck.worker()).toEqual({ concurrency: 1 });
  });

  it('reads the names jobs had before `<Entity><Verb>` as the jobs they became', () => {
    expect(jobNameOf('ItemEmbed')).toBe('ItemEmbed');
    expect(jobNameOf('EmbedItem')).toBe('ItemEmbed');
    expect(jobNameOf('RequeueOrphanedItems')).toBe('OrphanedItemsRequeue');
    expect(jobNameOf('ApiKeyUsageFlush')).toBe('ApiKeyUsageFlush');
    expect(jobNameOf('toString')).toBeUndefined();
    expect(jobNameOf('Nope')).toBeUndefined();
    expect(legacyNamesOf('OrphanedItemsRequeue')).toEqual(['RequeueOrphanedItems']);
    expect(legacyNamesOf('ApiKeyUsageFlush')).toEqual([]);
    for (const legacy of Object.keys(legacyJobNames)) expect(jobOptions).not.toHaveProperty(legacy);
  });
});
