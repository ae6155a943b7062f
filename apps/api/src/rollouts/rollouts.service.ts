import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  NotFoundError,
  ValidationError,
  type CreateFleetRollout,
  type CreateRollout,
  type FleetRolloutView,
  type UpdateRollout,
} from '@tributary/contracts';
import {
  AuditRepository,
  CollectionRepository,
  RolloutRepository,
  TenantRepository,
  type Actor,
  type CutoverResult,
} from '@tributary/db';
import { EmbedQueues } from '@tributary/queue';
import { EngineService } from '../embeddings/engine.service';
import { VectorStoreService } from '../collections/vector-store.service';
import { collectionStoreKey } from '../streams/streams.service';
import { rolloutView } from './rollout.view';

/** The Qdrant alias that names a tenant's collection's serving version (for readers outside Tributary). */
export function collectionAlias(tenantId: string, name: string): string {
  return `t-${tenantId}--${name}`;
}

/**
 * The control plane of a tenant's collections: starting a rollout to another model version (its
 * candidate, a new physical index, is backfilled by the workers while new items are dual-written),
 * moving its canary share or mode, promoting it and rolling it back. Every change goes through
 * `RolloutRepository` (the state machine, in one transaction each, with an audit event); this
 * service validates the request, names the candidate's index, queues the backfill, and finishes a
 * cutover in the store (retired indexes dropped, the Qdrant alias moved). Tenant-scoped: a tenant
 * names its own collections only; the admin key acts for any tenant through the same methods.
 */
@Injectable()
export class RolloutsService {
  private readonly logger = new Logger('Rollouts');

  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly audit: AuditRepository,
    private readonly collections: CollectionRepository,
    private readonly tenants: TenantRepository,
    private readonly engines: EngineService,
    private readonly queues: EmbedQueues,
    private readonly vectors: VectorStoreService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async create(tenantId: string, name: string, input: CreateRollout, actor: Actor, fleetId?: string) {
    const collection = await this.collections.byName(tenantId, name);
    // The API's engine serves exactly MODELS, the versions the workers embed with.
    const served = this.engines.servedModel(input.model);
    const rollout = await this.rollouts.create({
      tenantId,
      collectionId: collection.id,
      to: {
        model: input.model,
        dimensions: served.dimensions,
        // Its own index: vectors of two versions never mix. A suffix, so that a version retired
        // earlier and embedded again later gets a fresh index.
        storeKey: `${collectionStoreKey(tenantId, name, input.model)}--${randomBytes(4).toString('hex')}`,
      },
      mode: input.mode,
      trafficPercent: input.trafficPercent,
      autoRollbackBelowOverlap: input.autoRollbackBelowOverlap,
      fleetId,
      actor,
    });
    this.collections.forget(tenantId, name);
    this.logger.log(
      {
        tenantId,
        collection: name,
        rolloutId: rollout.id,
        actor,
        from: rollout.fromModel,
        to: rollout.toModel,
      },
      `rollout ${rollout.id} started: ${rollout.fromModel} → ${rollout.toModel} (backfilling ${rollout.backfillTotal})`,
    );
    await this.queues
      .enqueueBackfill(input.model, { tenantId, rolloutId: rollout.id }, 'start')
      .catch((err: unknown) =>
        // The rollout is stored; the scheduler's sweep starts a backfill whose job is missing.
        this.logger.warn({ rolloutId: rollout.id, err }, 'backfill not queued yet: the sweep will start it'),
      );
    return rolloutView(rollout);
  }

  async list(tenantId: string, name: string) {
    const collection = await this.collections.byName(tenantId, name);
    return { data: (await this.rollouts.list(tenantId, collection.id)).map((r) => rolloutView(r)) };
  }

  async get(tenantId: string, name: string, id: string) {
    const collection = await this.collections.byName(tenantId, name);
    return rolloutView(await this.rollouts.get(tenantId, collection.id, id));
  }

  async update(tenantId: string, name: string, id: string, patch: UpdateRollout, actor: Actor) {
    const collection = await this.collections.byName(tenantId, name);
    const rollout = await this.rollouts.update(tenantId, collection.id, id, patch, actor);
    this.collections.forget(tenantId, name);
    this.logger.log(
      { tenantId, collection: name, rolloutId: id, actor, ...patch },
      `rollout ${id}: ${rollout.state}, ${rollout.trafficPercent}% to ${rollout.toModel}`,
    );
    return rolloutView(rollout);
  }

  async promote(tenantId: string, name: string, id: string, actor: Actor) {
    const collection = await this.collections.byName(tenantId, name);
    const result = await this.rollouts.promote(
      tenantId,
      collection.id,
      id,
      actor,
      this.config.ROLLOUT_RETAIN_PREVIOUS_HOURS,
    );
    return this.finishCutover(tenantId, name, result, actor, 'promoted');
  }

  async rollback(tenantId: string, name: string, id: string, actor: Actor, reason?: string) {
    const collection = await this.collections.byName(tenantId, name);
    const result = await this.rollouts.rollback(tenantId, collection.id, id, actor, reason);
    return this.finishCutover(tenantId, name, result, actor, 'rolled back');
  }

  /**
   * After the pointer moved (committed): this process's cached pointer is forgotten, the Qdrant
   * alias follows it, and retired versions' indexes are removed (in the background).
   */
  private async finishCutover(
    tenantId: string,
    name: string,
    result: CutoverResult,
    actor: Actor,
    what: string,
  ) {
    this.collections.forget(tenantId, name);
    this.logger.log(
      { tenantId, collection: name, rolloutId: result.rollout.id, actor, serving: result.serving.model },
      `rollout ${result.rollout.id} ${what}: ${name} is served by ${result.serving.model}`,
    );
    await this.vectors.pointAlias(collectionAlias(tenantId, name), result.serving.storeKey);
    // The answer does not wait for the retired indexes' removal: searches already read the new
    // pointer, the store may be busy (saving an index) for seconds, and a removal that fails is
    // done again by the periodic sweep (VectorStoreService.dropRetired) rather than turning a
    // committed cutover into a 500.
    void this.vectors
      .dropRetired(result.retired)
      .catch((err: Error) =>
        this.logger.warn(`indexes of retired versions not removed yet (retried later): ${err.message}`),
      );
    return rolloutView(result.rollout);
  }

  // --- operators ---

  /**
   * Starts the same rollout on every collection served by `from` (optionally only some tenants'):
   * each is an ordinary rollout of its tenant, tagged with the fleet's id; a collection that cannot
   * start (one already going) is listed as skipped with the reason.
   */
  async createFleet(input: CreateFleetRollout): Promise<FleetRolloutView> {
    if (input.from === input.to) {
      throw new ValidationError('`from` and `to` name the same model version', [
        { path: 'to', message: 'must differ from `from`' },
      ]);
    }
    const fleetId = randomUUID();
    const targets = await this.rollouts.collectionsServedBy(input.from, input.tenants);
    const skipped: FleetRolloutView['skipped'] = [];
    for (const target of targets) {
      try {
        await this.create(
          target.tenantId,
          target.name,
          { model: input.to, mode: input.mode, trafficPercent: input.trafficPercent },
          'admin',
          fleetId,
        );
      } catch (err) {
        if (err instanceof ValidationError) throw err;
        skipped.push({
          tenantId: target.tenantId,
          collection: target.name,
          reason: err instanceof Error ? err.message : String(err),
        });
      }
    }
    await this.audit.record({
      actor: 'admin',
      tenantId: null,
      action: 'fleet.create',
      target: `fleet:${fleetId}`,
      details: { from: input.from, to: input.to, collections: targets.length, skipped: skipped.length },
    });
    return { ...(await this.fleet(fleetId, input.from, input.to)), skipped };
  }

  /** A fleet rollout's rollouts and progress (with `from`, a fleet just started: none is no error). */
  async fleet(fleetId: string, from?: string, to?: string): Promise<FleetRolloutView> {
    const rows = await this.rollouts.fleet(fleetId);
    if (rows.length === 0 && from === undefined) throw new NotFoundError('Fleet rollout', fleetId);
    const byState: Record<string, number> = {};
    for (const r of rows) byState[r.state] = (byState[r.state] ?? 0) + 1;
    return {
      id: fleetId,
      from: from ?? rows[0]!.fromModel,
      to: to ?? rows[0]!.toModel,
      rollouts: rows.map((r) => ({ ...rolloutView(r), tenantId: r.tenantId })),
      skipped: [],
      progress: {
        collections: rows.length,
        backfillDone: rows.reduce((n, r) => n + r.backfillDone, 0),
        backfillTotal: rows.reduce((n, r) => n + Math.max(r.backfillTotal, r.backfillDone), 0),
        byState,
      },
    };
  }

  async fleets() {
    const fleets = await this.rollouts.fleets();
    return { data: await Promise.all(fleets.map((f) => this.fleet(f.fleetId))) };
  }

  /** The tenant an admin acts for (404 when there is none). */
  async tenantForAdmin(tenantId: string): Promise<string> {
    await this.tenants.get(tenantId);
    return tenantId;
  }
}
