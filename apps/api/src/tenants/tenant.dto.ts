import { createZodDto } from 'nestjs-zod';
import {
  createTenantSchema,
  idParamSchema,
  listTenantsQuerySchema,
  tenantListSchema,
  tenantSchema,
  updateTenantSchema,
} from '@tributary/contracts';

export class CreateTenantDto extends createZodDto(createTenantSchema) {}
export class UpdateTenantDto extends createZodDto(updateTenantSchema) {}
export class ListTenantsQueryDto extends createZodDto(listTenantsQuerySchema) {}
export class TenantDto extends createZodDto(tenantSchema) {}
export class TenantListDto extends createZodDto(tenantListSchema) {}
export class IdParamDto extends createZodDto(idParamSchema) {}
