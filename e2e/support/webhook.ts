import { createHmac } from 'node:crypto';

/** Signs a webhook body the way the documentation tells senders to (written here independently of the API's code). */
export function signWebhookForTest(secret: string, timestamp: number, body: string): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-tributary-timestamp': String(timestamp), 'x-tributary-signature': `v1=${mac}` };
}
