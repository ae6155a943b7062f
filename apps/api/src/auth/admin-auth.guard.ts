import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { UnauthorizedError } from '@tributary/contracts';
import type { FastifyRequest } from 'fastify';
import { AdminKeyService } from './admin-key.service';
import { bearerToken } from './api-key-secret';

@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly adminKeys: AdminKeyService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedError('Missing admin key. Send `Authorization: Bearer <admin key>`.');
    if (!(await this.adminKeys.verify(token))) throw new UnauthorizedError('Invalid admin key');
    return true;
  }
}
