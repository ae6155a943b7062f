import { Injectable } from '@nestjs/common';
import { AuditRepository } from '@tributary/db';

/** The audit list as operators read it: control-plane changes, newest first. */
@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  async list(limit: number, before?: string) {
    const events = await this.audit.list(limit, before ? BigInt(before) : undefined);
    return {
      data: events.map((e) => ({
        id: String(e.id),
        at: e.at.toISOString(),
        actor: e.actor,
        tenantId: e.tenantId,
        action: e.action,
        target: e.target,
        details: e.details ?? null,
      })),
    };
  }
}
