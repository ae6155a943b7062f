import { createZodDto } from 'nestjs-zod';
import {
  apiKeyListSchema,
  apiKeySchema,
  createApiKeySchema,
  createdApiKeySchema,
} from '@tributary/contracts';

export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}
export class ApiKeyDto extends createZodDto(apiKeySchema) {}
export class CreatedApiKeyDto extends createZodDto(createdApiKeySchema) {}
export class ApiKeyListDto extends createZodDto(apiKeyListSchema) {}
