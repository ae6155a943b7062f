import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service';

/** Provides the {@link PrismaService}; expects the CONFIG provider from the app module. */
@Global()
@Module({ providers: [PrismaService], exports: [PrismaService] })
export class DbModule {}
