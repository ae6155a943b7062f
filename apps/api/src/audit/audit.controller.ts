import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';
import { auditListSchema } from '@tributary/contracts';
import { AdminAuth } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { AuditService } from './audit.service';

class AuditListDto extends createZodDto(auditListSchema) {}
class AuditQueryDto extends createZodDto(
  z
    .object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      before: z
        .string()
        .regex(/^[0-9]{1,19}$/, 'an audit event id')
        .optional(),
    })
    .strict(),
) {}

@ApiTags('admin: audit')
@AdminAuth()
@Controller('v1/admin/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'Control-plane changes (who, what, when), newest first',
    description:
      'Rollouts (start, canary share, promote, rollback, failure, retirement) and tenant changes. Page with `before`.',
  })
  @ZodResponse({ status: 200, type: AuditListDto, description: 'Audit events' })
  @ApiErrors(422)
  list(@Query() query: AuditQueryDto) {
    return this.audit.list(query.limit, query.before);
  }
}
