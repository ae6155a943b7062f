import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import { isUniqueViolation } from '../unique-violation';

const SINGLETON = 1;

/** The generated admin key's hash (one row, unused while ADMIN_API_KEY is set); no tenant involved. */
@Injectable()
export class AdminCredentialRepository {
  constructor(private readonly prisma: PrismaService) {}

  async findHash(): Promise<string | undefined> {
    return (await this.find())?.hash;
  }

  async find(): Promise<{ hash: string; prefix: string; createdAt: Date } | undefined> {
    return (await this.prisma.adminCredential.findUnique({ where: { id: SINGLETON } })) ?? undefined;
  }

  /** Stores a new admin key's hash in place of the old one (or the first one). */
  async replace(hash: string, prefix: string): Promise<void> {
    await this.prisma.adminCredential.upsert({
      where: { id: SINGLETON },
      create: { id: SINGLETON, hash, prefix },
      update: { hash, prefix, createdAt: new Date() },
    });
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
