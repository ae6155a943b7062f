import { Prisma } from './generated/prisma/client';

/** True when a Prisma error is a unique-constraint violation (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/** True when a Prisma error says the row to update or delete does not exist (P2025). */
export function isRecordNotFound(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';
}

/**
 * True when PostgreSQL refused a value itself (SQLSTATE class 22, data exception: a NUL character
 * in text or jsonb, a lone surrogate escape in jsonb, ...): the statement's input is bad, not the
 * database, so retrying the same input cannot help.
 */
export function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}
