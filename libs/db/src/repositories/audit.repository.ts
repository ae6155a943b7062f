import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import type { SqlClient } from '../sql-client';

/** Who changed the control plane: `admin`, `key:<api key id>`, or `system:<reason>`. */
export type Actor = string;

/** One control-plane change. */
export interface AuditEntry {
  actor: Actor;
  /** The tenant it concerns, if one. */
  tenantId: string | null;
  /** `<resource>.<verb>`, e.g. `rollout.promote`, `tenant.update`. */
  action: string;
  /** What it changed, e.g. `collection:tweets/rollout:<id>`, `tenant:<id>`. */
  target: string;
  details?: unknown;
}

/**
 * The audit list of control-plane changes (table `audit_event`): who, what, when. Written in the
 * transaction of the change it records where there is one (a change that rolls back leaves no
 * entry); read by operators, newest first.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a change, inside `db` (a transaction) when given. */
  async record(entry: AuditEntry, db: SqlClient | Prisma.TransactionClient = this.prisma.sql): Promise<void> {
    const text =
      'INSERT INTO audit_event (actor, tenant_id, action, target, details) VALUES ($1, $2::uuid, $3, $4, $5::jsonb)';
    const params = [
      entry.actor,
      entry.tenantId,
      entry.action,
      entry.target,
      JSON.stringify(entry.details ?? null),
    ];
    if ('query' in db && typeof db.query === 'function') await db.query(text, params);
    else await (db as Prisma.TransactionClient).$executeRawUnsafe(text, ...params);
  }

  /** Changes, newest first, `limit` at a time, before the event id `before` (admin). */
  list(limit: number, before?: bigint) {
    return this.prisma.auditEvent.findMany({
      where: before ? { id: { lt: before } } : {},
      orderBy: { id: 'desc' },
      take: limit,
    });
  }
}
