import { z } from 'zod';
import { storableString } from './input-rules';
import { tenantExample, tenantSchema } from './tenants';

const apiKeyExample = {
  id: '7d1f9a3c-2b4e-4f6a-8c9d-0e1f2a3b4c5d',
  tenantId: tenantExample.id,
  name: 'ingest-service',
  prefix: 'trb_k3J9xQ2m',
  createdAt: '2026-11-25T10:00:00.000Z',
  lastUsedAt: null,
  revokedAt: null,
};

export const createApiKeySchema = z
  .object({
    name: storableString().trim().min(1).max(100).default('default').describe('What the key is for'),
  })
  .strict()
  .meta({ example: { name: 'ingest-service' } });
export type CreateApiKey = z.infer<typeof createApiKeySchema>;

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('First characters of the secret, to recognise a key'),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable().describe('Updated within KEY_USAGE_FLUSH_EVERY_MS'),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ example: apiKeyExample });
export type ApiKeyView = z.infer<typeof apiKeySchema>;

export const createdApiKeySchema = apiKeySchema
  .extend({ secret: z.string().describe('The key itself. Shown once: only its hash is stored.') })
  .meta({ example: { ...apiKeyExample, secret: 'trb_k3J9xQ2mV8pL1sR7tY4uW6zA0bC3dE5fG7hJ9kM2nP4q' } });
export type CreatedApiKeyView = z.infer<typeof createdApiKeySchema>;

export const apiKeyListSchema = z
  .object({ data: z.array(apiKeySchema) })
  .meta({ example: { data: [apiKeyExample] } });

export const meSchema = z
  .object({
    tenant: tenantSchema,
    key: apiKeySchema.pick({ id: true, name: true, prefix: true }),
  })
  .meta({
    example: {
      tenant: tenantExample,
      key: { id: apiKeyExample.id, name: apiKeyExample.name, prefix: apiKeyExample.prefix },
    },
  });
export type MeView = z.infer<typeof meSchema>;
