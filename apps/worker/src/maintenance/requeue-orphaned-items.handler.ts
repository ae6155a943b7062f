import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { ItemStore, PrismaService } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import {
  createNamedQueue,
  embedJobsFor,
  embedQueueName,
  type JobHandler,
  type Queue,
} from '@tributary/queue';

const PAGE = 1000;

/**
 * Finds accepted items whose queue job is gone and enqueues them again. Redis acknowledges a job
 * before it reaches the disk (AOF `everysec`), and a failover to a replica that had not seen it
 * loses it; PostgreSQL still holds the item as queued. An item counts as orphaned only when its
 * model's queue is empty (no job waiting, delayed or active: a backlog is not a loss) and it
 * was put on the queue more than ORPHANED_AFTER_MS ago. Re-running an item is harmless: workers
 * write the same row and point and count it once.
 */
@Injectable()
export class RequeueOrphanedItemsHandler
  implements JobHandler<'RequeueOrphanedItems'>, OnApplicationShutdown
{
  readonly job = 'RequeueOrphanedItems' as const;
  private readonly logger = new Logger('RequeueOrphanedItems');
  private readonly items: ItemStore;
  private readonly queues = new Map<string, Queue>();

  constructor(
    prisma: PrismaService,
    private readonly metrics: Metrics,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.items = new ItemStore(prisma.sql);
  }

  async handle(): Promise<{ requeued: number }> {
    const sweep = Date.now();
    const idle = new Map<string, boolean>();
    let requeued = 0;
    for (const stream of await this.items.streamsWithLag()) {
      if (!idle.has(stream.model)) idle.set(stream.model, await this.queueIsEmpty(stream.model));
      if (!idle.get(stream.model)) continue;
      let after: string | undefined;
      for (;;) {
        const page = await this.items.queuedBefore(stream.id, this.config.ORPHANED_AFTER_MS, PAGE, after);
        if (page.length === 0) break;
        // A new job id: the lost job's id may still be known to BullMQ (kept as failed, say).
        const jobs = embedJobsFor(
          stream,
          page.map((item) => ({ ...item, acceptedAt: item.acceptedAt.getTime() })),
          `.r${sweep}`,
        );
        await this.queue(stream.model).addBulk(jobs);
        requeued += page.length;
        this.metrics.itemsRequeued.inc({ model: stream.model }, page.length);
        this.logger.warn(`stream ${stream.id}: enqueued again ${page.length} items whose job was lost`);
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.id;
      }
    }
    return { requeued };
  }

  private async queueIsEmpty(model: string): Promise<boolean> {
    const counts = await this.queue(model).getJobCounts(
      'waiting',
      'delayed',
      'prioritized',
      'active',
      'waiting-children',
    );
    return Object.values(counts).every((n) => n === 0);
  }

  private queue(model: string): Queue {
    let queue = this.queues.get(model);
    if (!queue) {
      if (!this.config.REDIS_URL) throw new Error('REDIS_URL is not set');
      const name = embedQueueName(model);
      queue = createNamedQueue(
        name,
        { redisUrl: this.config.REDIS_URL, prefix: this.config.REDIS_PREFIX },
        `worker:requeue:${name}`,
      );
      this.queues.set(model, queue);
    }
    return queue;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
