import { z } from 'zod';
import { createdStreamSchema } from './streams';

/** Where and how a stream's webhook is called, with its secret (shown only when made). */
const webhookSchema = createdStreamSchema.shape.webhook;

/** Longest overlap a rotation may ask for: 30 days. */
export const MAX_WEBHOOK_SECRET_OVERLAP_SECONDS = 2_592_000;

export const rotateWebhookSecretSchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_WEBHOOK_SECRET_OVERLAP_SECONDS)
      .optional()
      .describe(
        'How long the replaced secret stays valid beside the new one (0: not at all); default WEBHOOK_SECRET_OVERLAP_SECONDS',
      ),
  })
  .strict()
  .meta({ example: { overlapSeconds: 3600 } });
export type RotateWebhookSecret = z.infer<typeof rotateWebhookSecretSchema>;

export const rotatedWebhookSecretSchema = z
  .object({
    webhook: webhookSchema,
    previousSecretValidUntil: z.iso
      .datetime()
      .nullable()
      .describe('Until when the replaced secret is still accepted; null: no longer'),
  })
  .meta({
    example: {
      webhook: {
        url: '/v1/hooks/6f1c2a8e-4b1d-4c55-9d3e-1a2b3c4d5e6f',
        secret: 'whsec_9Lm4…',
        signature: 'x-tributary-timestamp: <unix seconds>; x-tributary-signature: v1=<hex hmac>',
      },
      previousSecretValidUntil: '2026-11-26T10:00:00.000Z',
    },
  });
