import { ConflictError, NotFoundError, ValidationError, type RolloutMode } from '@tributary/contracts';
import type { StreamWithCollection } from './stream.repository';
import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { ItemEmbeddingRepository } from './item-embedding.repository';
import { ItemVectorRepository } from './item-vector.repository';
import { RolloutRepository, type RolloutWithCollection } from './rollout.repository';

const FROM = 'use-lite@1';
const TO = 'use-lite-int8@1';
const THIRD = 'bge-small@1';

/** RolloutRepository's state machine, cursor, cutover and retirement on real PostgreSQL. */
describe('RolloutRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let rollouts: RolloutRepository;
  let vectors: ItemVectorRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    rollouts = fx.module.get(RolloutRepository);
    vectors = fx.module.get(ItemVectorRepository);
  });
  afterAll(() => fx.close());

  const vec = (...v: number[]) => new Float32Array(v);

  const start = (
    s: StreamWithCollection,
    over: { model?: string; mode?: RolloutMode; trafficPercent?: number; actor?: string } = {},
  ) => {
    const model = over.model ?? TO;
    return rollouts.create({
      tenantId: s.tenantId,
      collectionId: s.collectionId,
      to: { model, dimensions: 4, storeKey: `${s.collection.storeKey}--${model.replace(/[@.]/g, '-')}` },
      mode: over.mode ?? 'canary',
      trafficPercent: over.trafficPercent ?? 0,
      actor: over.actor ?? 'key:k1',
    });
  };

  /** Runs the backfill's bookkeeping to the end without writing vectors: scan, then catch-up. */
  const complete = async (id: string) => {
    expect(await rollouts.finishBackfillPhase(await rolloutRow(id))).toBe('catchup');
    return rollouts.finishBackfillPhase(await rolloutRow(id));
  };

  const collectionRow = (id: string) => fx.prisma.collection.findUniqueOrThrow({ where: { id } });
  const versionOf = (id: string) => fx.prisma.collectionVersion.findUniqueOrThrow({ where: { id } });
  const rolloutRow = (id: string) => fx.prisma.rollout.findUniqueOrThrow({ where: { id } });
  const auditOf = (tenantId: string) =>
    fx.prisma.auditEvent.findMany({ where: { tenantId }, orderBy: { id: 'asc' } });
  const itemVectorCount = (versionId: string) => fx.prisma.itemVector.count({ where: { versionId } });

  /** An item_vector row by the version for each item (as a backfill page writes them). */
  const writeVectors = (s: StreamWithCollection, versionId: string, ids: string[]) =>
    vectors.write(
      s.tenantId,
      versionId,
      ids.map((itemId) => ({ streamId: s.id, itemId, vector: vec(0, 1, 0, 0) })),
      () => Promise.resolve(),
    );

  it('starts a rollout: the candidate version and the rollout in one transaction, counted and audited', async () => {
    const s = await fx.streamWithQueuedItems('create', ['a', 'b', 'c']);
    await fx.prisma.item.update({
      where: { streamId_id: { streamId: s.id, id: 'c' } },
      data: { status: 'failed' },
    });
    const rollout = await start(s, { actor: 'key:creator' });
    expect(rollout).toMatchObject({
      state: 'backfilling',
      fromModel: FROM,
      toModel: TO,
      backfillTotal: 2,
      backfillDone: 0,
      backfillPhase: 'scan',
      createdBy: 'key:creator',
      collection: { name: 'create' },
    });
    const candidate = await versionOf(rollout.toVersionId);
    expect(candidate).toMatchObject({
      model: TO,
      dimensions: 4,
      retiredAt: null,
      collectionId: s.collectionId,
    });
    // The pointer is untouched: the collection still serves its first version.
    expect(await collectionRow(s.collectionId)).toMatchObject({
      model: FROM,
      storeKey: s.collection.storeKey,
    });
    expect(await auditOf(s.tenantId)).toEqual([
      expect.objectContaining({
        actor: 'key:creator',
        action: 'rollout.create',
        target: `collection:create/rollout:${rollout.id}`,
        details: { from: FROM, to: TO, mode: 'canary', trafficPercent: 0 },
      }),
    ]);
  });

  it('keeps one active rollout per collection, also when two starts race, and refuses the serving model', async () => {
    const s = await fx.streamWithQueuedItems('one-active', ['a']);
    await expect(start(s, { model: FROM })).rejects.toThrow(ValidationError);
    await expect(start(s, { model: FROM })).rejects.toThrow(`already served by ${FROM}`);

    const results = await Promise.allSettled([start(s), start(s, { model: THIRD })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
    // Nothing of the loser stays: one rollout, one candidate version.
    expect(await fx.prisma.rollout.count({ where: { collectionId: s.collectionId } })).toBe(1);
    expect(await fx.prisma.collectionVersion.count({ where: { collectionId: s.collectionId } })).toBe(2);

    const active = (won[0] as PromiseFulfilledResult<RolloutWithCollection>).value;
    await expect(start(s, { model: THIRD })).rejects.toThrow(ConflictError);
    await expect(start(s, { model: THIRD })).rejects.toThrow(`already has a rollout going (${active.id}`);
    // Once it has ended, another may start.
    await rollouts.rollback(s.tenantId, s.collectionId, active.id, 'admin');
    await expect(start(s, { model: THIRD })).resolves.toMatchObject({ state: 'backfilling' });
  });

  it('changes traffic and mode only once the candidate is complete, with the state they mean', async () => {
    const s = await fx.streamWithQueuedItems('update', ['a']);
    const rollout = await start(s);
    await expect(
      rollouts.update(s.tenantId, s.collectionId, rollout.id, { trafficPercent: 10 }, 'key:k1'),
    ).rejects.toThrow(ConflictError);
    expect(await rolloutRow(rollout.id)).toMatchObject({ state: 'backfilling', trafficPercent: 0 });

    expect(await complete(rollout.id)).toBe('ready');
    const canary = await rollouts.update(
      s.tenantId,
      s.collectionId,
      rollout.id,
      { trafficPercent: 25 },
      'key:k2',
    );
    expect(canary).toMatchObject({ state: 'canary', trafficPercent: 25, mode: 'canary' });
    const shadow = await rollouts.update(s.tenantId, s.collectionId, rollout.id, { mode: 'shadow' }, 'admin');
    expect(shadow).toMatchObject({ state: 'shadow', trafficPercent: 25, mode: 'shadow' });
    const ready = await rollouts.update(
      s.tenantId,
      s.collectionId,
      rollout.id,
      { mode: 'canary', trafficPercent: 0 },
      'admin',
    );
    expect(ready).toMatchObject({ state: 'ready', trafficPercent: 0 });
    const updates = (await auditOf(s.tenantId)).filter((e) => e.action === 'rollout.update');
    expect(updates.map((e) => [e.actor, e.details])).toEqual([
      ['key:k2', { trafficPercent: 25, mode: 'canary' }],
      ['admin', { trafficPercent: 25, mode: 'shadow' }],
      ['admin', { trafficPercent: 0, mode: 'canary' }],
    ]);

    await rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'admin', 24);
    await expect(
      rollouts.update(s.tenantId, s.collectionId, rollout.id, { trafficPercent: 5 }, 'admin'),
    ).rejects.toThrow('is promoted');
  });

  it('ends the scan in a catch-up, and the catch-up in ready, canary or shadow as asked', async () => {
    for (const [mode, trafficPercent, state] of [
      ['canary', 0, 'ready'],
      ['canary', 10, 'canary'],
      ['shadow', 0, 'shadow'],
    ] as const) {
      const s = await fx.streamWithQueuedItems(`finish-${state}`, ['a', 'b']);
      const rollout = await start(s, { mode, trafficPercent });
      await fx.prisma.sql.transaction((tx) =>
        rollouts.advanceBackfill(tx, rollout, { streamId: s.id, itemId: 'b' }, 2),
      );
      expect(await rollouts.finishBackfillPhase(await rolloutRow(rollout.id))).toBe('catchup');
      expect(await rolloutRow(rollout.id)).toMatchObject({
        state: 'backfilling',
        backfillPhase: 'catchup',
        backfillCursorStream: null,
        backfillCursorItem: null,
        backfillFinishedAt: null,
      });
      expect(await rollouts.finishBackfillPhase(await rolloutRow(rollout.id))).toBe(state);
      const done = await rolloutRow(rollout.id);
      expect(done).toMatchObject({ state, backfillDone: 2, backfillTotal: 2 });
      expect(done.backfillFinishedAt).toBeInstanceOf(Date);
      // No longer backfilling: nothing moves.
      expect(await rollouts.finishBackfillPhase(await rolloutRow(rollout.id))).toBeUndefined();
      expect(
        await fx.prisma.auditEvent.findMany({
          where: { action: 'rollout.ready', target: `rollout:${rollout.id}` },
        }),
      ).toEqual([expect.objectContaining({ actor: 'system:backfill', details: { state } })]);
    }
  });

  it('ends a phase once for deliveries that read it: a second delivery at the scan end does not skip the catch-up', async () => {
    const s = await fx.streamWithQueuedItems('finish-twice', ['a']);
    const rollout = await start(s);
    // Two deliveries of the job both read the rollout at the scan's end (an empty page each).
    const read = await rolloutRow(rollout.id);
    expect(await rollouts.finishBackfillPhase(read)).toBe('catchup');
    expect(await rollouts.finishBackfillPhase(read)).toBeUndefined();
    expect(await rolloutRow(rollout.id)).toMatchObject({ state: 'backfilling', backfillPhase: 'catchup' });
    // The catch-up still finds the item the scan left without a candidate vector.
    expect((await rollouts.nextBackfillPage(await rolloutRow(rollout.id), 10)).map((p) => p.itemId)).toEqual([
      'a',
    ]);
  });

  it('promotes only a complete candidate, moving the pointer and every stream in one transaction', async () => {
    const s = await fx.streamWithQueuedItems('promote', ['a', 'b']);
    const rollout = await start(s);
    await fx.prisma.sql.transaction((tx) =>
      rollouts.advanceBackfill(tx, rollout, { streamId: s.id, itemId: 'a' }, 1),
    );
    const refused = rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'admin', 24);
    await expect(refused).rejects.toThrow(ConflictError);
    await expect(rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'admin', 24)).rejects.toThrow(
      'still backfilling (1 of 2)',
    );
    expect(await collectionRow(s.collectionId)).toMatchObject({ model: FROM });

    await complete(rollout.id);
    const before = Date.now();
    const cut = await rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'key:promoter', 2);
    const candidate = await versionOf(rollout.toVersionId);
    expect(cut.serving).toEqual({ model: TO, storeKey: candidate.storeKey });
    expect(cut.retired).toEqual([]);
    expect(await collectionRow(s.collectionId)).toMatchObject({
      model: TO,
      storeKey: candidate.storeKey,
      dimensions: 4,
    });
    expect(await fx.prisma.stream.findUniqueOrThrow({ where: { id: s.id } })).toMatchObject({ model: TO });
    const promoted = await rolloutRow(rollout.id);
    expect(promoted.state).toBe('promoted');
    // The previous version stays live for the retention.
    expect(promoted.retainUntil!.getTime()).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1_000);
    expect((await versionOf(rollout.fromVersionId)).retiredAt).toBeNull();
    expect((await auditOf(s.tenantId)).at(-1)).toMatchObject({
      actor: 'key:promoter',
      action: 'rollout.promote',
      details: { serving: TO },
    });
    // Promoted once: not again.
    await expect(rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'admin', 2)).rejects.toThrow(
      'only a ready, canary or shadow rollout can be promoted',
    );
    // The retained previous version's model cannot be the next candidate: roll back instead.
    await expect(start(s, { model: FROM })).rejects.toThrow(ConflictError);
    await expect(start(s, { model: FROM })).rejects.toThrow('still holds use-lite@1');
  });

  it('rolls a backfilling rollout back: the candidate is retired and its vectors go', async () => {
    const s = await fx.streamWithQueuedItems('rollback-backfill', ['a', 'b']);
    const rollout = await start(s);
    await writeVectors(s, rollout.toVersionId, ['a', 'b']);
    expect(await itemVectorCount(rollout.toVersionId)).toBe(2);

    const cut = await rollouts.rollback(s.tenantId, s.collectionId, rollout.id, 'key:k9', 'looks bad');
    const candidate = await versionOf(rollout.toVersionId);
    expect(cut.retired).toEqual([candidate.storeKey]);
    expect(cut.serving).toEqual({ model: FROM, storeKey: s.collection.storeKey });
    expect(candidate.retiredAt).toBeInstanceOf(Date);
    // Its vectors go after the cutover, in batches (the rollout sweep), not inside it.
    expect(await itemVectorCount(rollout.toVersionId)).toBe(2);
    expect(await rollouts.purgeRetiredVectors(1)).toBe(1);
    expect(await rollouts.purgeRetiredVectors(10)).toBe(1);
    expect(await itemVectorCount(rollout.toVersionId)).toBe(0);
    expect(await rollouts.purgeRetiredVectors(10)).toBe(0);
    expect(await rolloutRow(rollout.id)).toMatchObject({ state: 'rolled_back', retainUntil: null });
    expect(await collectionRow(s.collectionId)).toMatchObject({
      model: FROM,
      storeKey: s.collection.storeKey,
    });
    expect((await auditOf(s.tenantId)).at(-1)).toMatchObject({
      actor: 'key:k9',
      action: 'rollout.rollback',
      details: { serving: FROM, reason: 'looks bad' },
    });
    await expect(rollouts.rollback(s.tenantId, s.collectionId, rollout.id, 'admin')).rejects.toThrow(
      'nothing to roll back',
    );
  });

  it('rolls a promotion back to the retained version, and retires the candidate', async () => {
    const s = await fx.streamWithQueuedItems('rollback-promoted', ['a']);
    const rollout = await start(s);
    await writeVectors(s, rollout.toVersionId, ['a']);
    await complete(rollout.id);
    await rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'admin', 24);

    const cut = await rollouts.rollback(s.tenantId, s.collectionId, rollout.id, 'admin');
    expect(cut.serving).toEqual({ model: FROM, storeKey: s.collection.storeKey });
    expect(cut.retired).toEqual([(await versionOf(rollout.toVersionId)).storeKey]);
    expect(await collectionRow(s.collectionId)).toMatchObject({
      model: FROM,
      storeKey: s.collection.storeKey,
    });
    expect(await fx.prisma.stream.findUniqueOrThrow({ where: { id: s.id } })).toMatchObject({ model: FROM });
    expect((await versionOf(rollout.toVersionId)).retiredAt).toBeInstanceOf(Date);
    expect((await versionOf(rollout.fromVersionId)).retiredAt).toBeNull();
    await rollouts.purgeRetiredVectors(100);
    expect(await itemVectorCount(rollout.toVersionId)).toBe(0);
    expect(await rolloutRow(rollout.id)).toMatchObject({ state: 'rolled_back', retainUntil: null });
  });

  it('refuses to roll a promotion back once its previous version is retired', async () => {
    const s = await fx.streamWithQueuedItems('rollback-retired', ['a']);
    const rollout = await start(s);
    await complete(rollout.id);
    await rollouts.promote(s.tenantId, s.collectionId, rollout.id, 'admin', 1);

    // Not due yet: nothing retires.
    expect(await rollouts.retireExpired(new Date())).toEqual([]);
    // Past this retention (1 h), within the other specs' promotions' (2 h and more): the sweep is system-wide.
    const retired = await rollouts.retireExpired(new Date(Date.now() + 90 * 60_000));
    expect(retired).toEqual([s.collection.storeKey]);
    expect((await versionOf(rollout.fromVersionId)).retiredAt).toBeInstanceOf(Date);
    expect(
      await fx.prisma.auditEvent.findMany({ where: { action: 'version.retire', tenantId: s.tenantId } }),
    ).toEqual([expect.objectContaining({ actor: 'system:retention', target: `rollout:${rollout.id}` })]);
    // Retired once.
    expect(await rollouts.retireExpired(new Date(Date.now() + 90 * 60_000))).toEqual([]);

    await expect(rollouts.rollback(s.tenantId, s.collectionId, rollout.id, 'admin')).rejects.toThrow(
      'its previous version use-lite@1 was retired',
    );
    expect(await collectionRow(s.collectionId)).toMatchObject({ model: TO });
    expect(await rolloutRow(rollout.id)).toMatchObject({ state: 'promoted' });
    // Its model is free again for a new rollout.
    await expect(start(s, { model: FROM })).resolves.toMatchObject({ fromModel: TO, toModel: FROM });
  });

  it('refuses to roll a promotion back once a later rollout of the collection started', async () => {
    const s = await fx.streamWithQueuedItems('rollback-later', ['a']);
    const first = await start(s);
    await complete(first.id);
    await rollouts.promote(s.tenantId, s.collectionId, first.id, 'admin', 24);
    const later = await start(s, { model: THIRD });
    const refused = rollouts.rollback(s.tenantId, s.collectionId, first.id, 'admin');
    await expect(refused).rejects.toThrow(ConflictError);
    await expect(rollouts.rollback(s.tenantId, s.collectionId, first.id, 'admin')).rejects.toThrow(
      `Rollout ${later.id} of this collection started after ${first.id}`,
    );
    expect(await collectionRow(s.collectionId)).toMatchObject({ model: TO });
    expect((await versionOf(first.toVersionId)).retiredAt).toBeNull();
  });

  it('fails an active rollout once (its candidate retired), and nothing else', async () => {
    const s = await fx.streamWithQueuedItems('fail', ['a']);
    const rollout = await start(s);
    await writeVectors(s, rollout.toVersionId, ['a']);
    const candidate = await versionOf(rollout.toVersionId);
    expect(await rollouts.fail(rollout.id, 'model broke')).toEqual({
      failed: true,
      retired: [candidate.storeKey],
    });
    expect(await rolloutRow(rollout.id)).toMatchObject({ state: 'failed', failureReason: 'model broke' });
    expect((await versionOf(rollout.toVersionId)).retiredAt).toBeInstanceOf(Date);
    await rollouts.purgeRetiredVectors(100);
    expect(await itemVectorCount(rollout.toVersionId)).toBe(0);
    expect(await rollouts.fail(rollout.id, 'again')).toEqual({ failed: false, retired: [] });
    expect((await auditOf(s.tenantId)).filter((e) => e.action === 'rollout.fail')).toEqual([
      expect.objectContaining({ actor: 'system:backfill', details: { reason: 'model broke' } }),
    ]);
  });

  it('moves the backfill cursor only from where the caller read it (a stale cursor is false)', async () => {
    const s = await fx.streamWithQueuedItems('cursor', ['a', 'b', 'c', 'd']);
    const read = await start(s);
    const advance = (
      rollout: Parameters<RolloutRepository['advanceBackfill']>[1],
      itemId: string,
      count: number,
    ) =>
      fx.prisma.sql.transaction((tx) =>
        rollouts.advanceBackfill(tx, rollout, { streamId: s.id, itemId }, count),
      );
    expect(await advance(read, 'b', 2)).toBe(true);
    // The same read again (a second delivery of the job): the cursor moved meanwhile.
    expect(await advance(read, 'b', 2)).toBe(false);
    const moved = await rolloutRow(read.id);
    expect(moved).toMatchObject({ backfillCursorStream: s.id, backfillCursorItem: 'b', backfillDone: 2 });
    expect(await advance(moved, 'd', 2)).toBe(true);
    // A move in a transaction that rolls back leaves the cursor where it was.
    const last = await rolloutRow(read.id);
    await expect(
      fx.prisma.sql.transaction(async (tx) => {
        expect(await rollouts.advanceBackfill(tx, last, { streamId: s.id, itemId: 'z' }, 9)).toBe(true);
        throw new Error('page rolled back');
      }),
    ).rejects.toThrow('page rolled back');
    expect(await rolloutRow(read.id)).toMatchObject({
      backfillCursorItem: 'd',
      backfillDone: 4,
      backfillTotal: 4,
    });
    // Counts past the total (items accepted after the start) raise the total.
    expect(await advance(last, 'e', 1)).toBe(true);
    expect(await rolloutRow(read.id)).toMatchObject({ backfillDone: 5, backfillTotal: 5 });
    // A cursor read in the scan does not move the catch-up's.
    expect(await rollouts.finishBackfillPhase(await rolloutRow(read.id))).toBe('catchup');
    const scanRead = await rolloutRow(read.id);
    expect(await advance({ ...scanRead, backfillPhase: 'scan' }, 'a', 1)).toBe(false);
    // Not backfilling any more: nothing moves.
    await rollouts.rollback(s.tenantId, s.collectionId, read.id, 'admin');
    expect(await advance(scanRead, 'a', 1)).toBe(false);
  });

  it('pages the scan over every live input, and the catch-up over those still without a candidate vector', async () => {
    const s = await fx.streamWithQueuedItems('pages', ['a', 'b', 'c', 'd', 'e', 'f']);
    const rollout = await start(s);
    const items = fx.module.get(ItemEmbeddingRepository);
    // b: a candidate vector; c: its own row by the candidate model; d deleted; e failed.
    await writeVectors(s, rollout.toVersionId, ['b']);
    await items.writeEmbedded(
      [{ tenantId: s.tenantId, streamId: s.id, itemId: 'c', vector: vec(1, 0, 0, 0) }],
      TO,
    );
    await fx.prisma.item.update({
      where: { streamId_id: { streamId: s.id, id: 'd' } },
      data: { status: 'deleted' },
    });
    await fx.prisma.item.update({
      where: { streamId_id: { streamId: s.id, id: 'e' } },
      data: { status: 'failed' },
    });
    // a's own row by the serving model is no candidate vector.
    await items.writeEmbedded(
      [{ tenantId: s.tenantId, streamId: s.id, itemId: 'a', vector: vec(1, 0, 0, 0) }],
      FROM,
    );

    const ids = async (limit = 100) =>
      (await rollouts.nextBackfillPage(await rolloutRow(rollout.id), limit)).map((p) => p.itemId);
    expect(await ids()).toEqual(['a', 'b', 'c', 'f']);
    expect(await ids(2)).toEqual(['a', 'b']);
    const page = await rollouts.nextBackfillPage(rollout, 1);
    expect(page).toEqual([{ streamId: s.id, itemId: 'a', text: 'text of a' }]);
    await fx.prisma.sql.transaction((tx) =>
      rollouts.advanceBackfill(tx, rollout, { streamId: s.id, itemId: 'b' }, 2),
    );
    expect(await ids()).toEqual(['c', 'f']);

    expect(await rollouts.finishBackfillPhase(await rolloutRow(rollout.id))).toBe('catchup');
    expect(await ids()).toEqual(['a', 'f']);
    const catchup = await rolloutRow(rollout.id);
    await fx.prisma.sql.transaction((tx) =>
      rollouts.advanceBackfill(tx, catchup, { streamId: s.id, itemId: 'a' }, 1),
    );
    expect(await ids()).toEqual(['f']);
  });

  it("scopes every change to the tenant: another tenant's ids are not found, and nothing changes", async () => {
    const s = await fx.streamWithQueuedItems('owner', ['a']);
    const other = await fx.streamWithQueuedItems('intruder', ['a']);
    const rollout = await start(s);
    await complete(rollout.id);
    const before = await rolloutRow(rollout.id);
    const eventsBefore = await fx.prisma.auditEvent.count();

    await expect(
      rollouts.create({
        tenantId: other.tenantId,
        collectionId: s.collectionId,
        to: { model: THIRD, dimensions: 4, storeKey: 'intruder--x' },
        mode: 'canary',
        trafficPercent: 0,
        actor: 'key:intruder',
      }),
    ).rejects.toThrow(NotFoundError);
    for (const [tenantId, collectionId] of [
      [other.tenantId, s.collectionId],
      [other.tenantId, other.collectionId],
      [s.tenantId, other.collectionId],
    ] as const) {
      await expect(rollouts.get(tenantId, collectionId, rollout.id)).rejects.toThrow(NotFoundError);
      await expect(
        rollouts.update(tenantId, collectionId, rollout.id, { trafficPercent: 50 }, 'key:intruder'),
      ).rejects.toThrow(NotFoundError);
      await expect(rollouts.promote(tenantId, collectionId, rollout.id, 'key:intruder', 1)).rejects.toThrow(
        NotFoundError,
      );
      await expect(rollouts.rollback(tenantId, collectionId, rollout.id, 'key:intruder')).rejects.toThrow(
        NotFoundError,
      );
    }
    expect(await rollouts.list(other.tenantId, s.collectionId)).toEqual([]);
    expect((await rollouts.activeByCollection(other.tenantId)).get(s.collectionId)).toBeUndefined();
    expect(await rolloutRow(rollout.id)).toEqual(before);
    expect(await collectionRow(s.collectionId)).toMatchObject({ model: FROM });
    expect(await fx.prisma.auditEvent.count()).toBe(eventsBefore);
    expect(await rollouts.get(s.tenantId, s.collectionId, rollout.id)).toMatchObject({ id: rollout.id });
  });
});
