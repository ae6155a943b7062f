import { z } from 'zod';
import { createZodDto } from 'nestjs-zod';
import {
  createdStreamSchema,
  createStreamSchema,
  failureListSchema,
  idParamSchema,
  ingestItemsSchema,
  ingestResultSchema,
  retryFailuresSchema,
  rotatedWebhookSecretSchema,
  rotateWebhookSecretSchema,
  streamListSchema,
  storableString,
  streamSchema,
} from '@tributary/contracts';

export class CreateStreamDto extends createZodDto(createStreamSchema) {}
export class CreatedStreamDto extends createZodDto(createdStreamSchema) {}
export class StreamDto extends createZodDto(streamSchema) {}
export class StreamListDto extends createZodDto(streamListSchema) {}
export class IngestItemsDto extends createZodDto(ingestItemsSchema) {}
export class IngestResultDto extends createZodDto(ingestResultSchema) {}
export class FailureListDto extends createZodDto(failureListSchema) {}
export class RetryFailuresDto extends createZodDto(retryFailuresSchema) {}
export class RotateWebhookSecretDto extends createZodDto(rotateWebhookSecretSchema) {}
export class RotatedWebhookSecretDto extends createZodDto(rotatedWebhookSecretSchema) {}
export class StreamIdParamDto extends createZodDto(idParamSchema) {}
export class FailuresQueryDto extends createZodDto(
  z
    .object({
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: storableString().min(1).max(256).optional(),
    })
    .strict(),
) {}
