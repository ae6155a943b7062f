import { z } from 'zod';

const limit = (what: string) => z.number().int().min(1).max(1_000_000).describe(what);

export const tenantLimitsSchema = z
  .object({
    rateLimitPerSecond: limit('Requests per second refilled into the tenant token bucket'),
    rateLimitBurst: limit('Token bucket capacity: the largest burst of requests allowed at once'),
  })
  .strict()
  .meta({ example: { rateLimitPerSecond: 50, rateLimitBurst: 100 } });
export type TenantLimits = z.infer<typeof tenantLimitsSchema>;

export const modelIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*@[0-9]+$/, 'a model version id such as use-lite@1')
  .describe('A model version, `name@version`');

export const createTenantSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(
        /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u,
        'letters, digits, spaces, ".", "_" or "-"; starts with a letter or digit',
      )
      .describe('Unique display name'),
    limits: tenantLimitsSchema.partial().strict().optional().describe('Defaults come from the configuration'),
    defaultModel: modelIdSchema
      .optional()
      .describe('Used when a request names no model; default DEFAULT_MODEL'),
  })
  .strict()
  .meta({ example: { name: 'acme', limits: { rateLimitPerSecond: 20 }, defaultModel: 'use-lite@1' } });
export type CreateTenant = z.infer<typeof createTenantSchema>;

export const updateTenantSchema = z
  .object({
    limits: tenantLimitsSchema.partial().strict().optional(),
    defaultModel: modelIdSchema.optional(),
  })
  .strict()
  .refine((v) => v.defaultModel !== undefined || Object.keys(v.limits ?? {}).length > 0, {
    message: 'name at least one limit or a default model',
    path: ['limits'],
  })
  .meta({ example: { limits: { rateLimitPerSecond: 100, rateLimitBurst: 200 } } });
export type UpdateTenant = z.infer<typeof updateTenantSchema>;

export const tenantExample = {
  id: '0b9f4b3e-7f0c-4d7a-9c51-2f3d6f1e8a10',
  name: 'acme',
  limits: { rateLimitPerSecond: 50, rateLimitBurst: 100 },
  defaultModel: 'use-lite@1',
  createdAt: '2026-11-25T10:00:00.000Z',
  updatedAt: '2026-11-25T10:00:00.000Z',
};

export const tenantSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    limits: tenantLimitsSchema,
    defaultModel: modelIdSchema,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ example: tenantExample });
export type TenantView = z.infer<typeof tenantSchema>;

export const tenantListSchema = z
  .object({
    data: z.array(tenantSchema),
    nextCursor: z.uuid().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  })
  .meta({ example: { data: [tenantExample], nextCursor: null } });
export type TenantList = z.infer<typeof tenantListSchema>;

export const listTenantsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50).describe('Page size'),
    cursor: z.uuid().optional().describe('`nextCursor` of the previous page'),
  })
  .strict();
export type ListTenantsQuery = z.infer<typeof listTenantsQuerySchema>;

export const idParamSchema = z.object({ id: z.uuid({ error: 'must be a UUID' }) }).strict();
