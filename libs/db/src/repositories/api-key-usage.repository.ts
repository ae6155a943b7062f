import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';

/**
 * Last-used times of API keys, as the worker's flush moves them from Redis to PostgreSQL:
 * system-scoped (one flush covers the keys of every tenant, found by key id).
 */
@Injectable()
export class ApiKeyUsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Moves last-used times forward (never back: an older sample arriving late changes nothing).
   * Returns how many keys were updated; ids of deleted keys are simply ignored.
   */
  async recordLastUsed(usage: { keyId: string; at: Date }[]): Promise<number> {
    if (usage.length === 0) return 0;
    const ids = usage.map((u) => u.keyId);
    const times = usage.map((u) => u.at.toISOString());
    return this.prisma.$executeRaw`
      UPDATE api_key AS k
      SET last_used_at = GREATEST(k.last_used_at, u.at)
      FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS u(id, at)
      WHERE k.id = u.id`;
  }
}
