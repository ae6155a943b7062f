import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { UnauthorizedError } from '@tributary/contracts';
import type { FastifyRequest } from 'fastify';
import { AdminKeyService } from './admin-key.service';
import { bearerToken } from './api-key-secret';
import { AuthFailures } from './auth-failures';

@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly adminKeys: AdminKeyService,
    private readonly failures: AuthFailures,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedError('Missing admin key. Send `Authorization: Bearer <admin key>`.');
    // Checked before the key, so guessing from a refused address learns nothing even when right.
    await this.failures.check(request.ip);
    if (!(await this.adminKeys.verify(token))) {
      await this.failures.record(request.ip, 'admin_key');
      throw new UnauthorizedError('Invalid admin key');
    }
    return true;
  }
}
