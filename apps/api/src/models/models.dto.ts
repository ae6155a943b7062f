import { createZodDto } from 'nestjs-zod';
import { adminModelListSchema, modelIdParamSchema, modelListSchema, modelSchema } from '@tributary/contracts';

export class ModelDto extends createZodDto(modelSchema) {}
export class ModelListDto extends createZodDto(modelListSchema) {}
export class ModelIdParamDto extends createZodDto(modelIdParamSchema) {}
export class AdminModelListDto extends createZodDto(adminModelListSchema) {}
