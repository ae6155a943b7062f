import { Injectable } from '@nestjs/common';
import { isUniqueViolation, PrismaService } from '@tributary/db';

const SINGLETON = 1;

@Injectable()
export class AdminCredentialRepository {
  constructor(private readonly prisma: PrismaService) {}

  async findHash(): Promise<string | undefined> {
    const row = await this.prisma.adminCredential.findUnique({ where: { id: SINGLETON } });
    return row?.hash;
  }

  /** Stores the generated admin key's hash unless one exists; true when this call stored it. */
  async createIfAbsent(hash: string, prefix: string): Promise<boolean> {
    try {
      await this.prisma.adminCredential.create({ data: { id: SINGLETON, hash, prefix } });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }
}
