import { createTenantSchema } from '@tributary/contracts';
import { validationErrorFrom } from './validation.pipe';

describe('validationErrorFrom', () => {
  it('lists each problem with its path and names unknown fields', () => {
    const result = createTenantSchema.safeParse({ name: '!bad', extra: 1, limits: { rateLimitBurst: 0 } });
    expect(result.success).toBe(false);
    if (result.success) return;
    const error = validationErrorFrom(result.error);
    expect(error.code).toBe('validation_failed');
    const details = error.details as { path: string; message: string }[];
    expect(details).toEqual(
      expect.arrayContaining([
        { path: '(body)', message: 'unknown field(s): extra' },
        { path: 'limits.rateLimitBurst', message: 'Too small: expected number to be >=1' },
        expect.objectContaining({ path: 'name' }),
      ]),
    );
    expect(error.message.startsWith('Request is invalid: ')).toBe(true);
  });
});
