import { Injectable, type ArgumentMetadata } from '@nestjs/common';
import { ValidationError } from '@tributary/contracts';
import { createZodValidationPipe } from 'nestjs-zod';
import type { ZodError } from 'zod';

function describePath(path: PropertyKey[]): string {
  return path.length === 0 ? '(body)' : path.map(String).join('.');
}

/** Turns a zod failure into a 422 that lists every bad field and why. */
export function validationErrorFrom(error: ZodError): ValidationError {
  const details = error.issues.map((issue) => ({
    path: describePath(issue.path),
    message:
      issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  return new ValidationError(
    `Request is invalid: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
    details,
  );
}

const ZodPipe = createZodValidationPipe({
  createValidationException: (error) => validationErrorFrom(error as ZodError),
  strictSchemaDeclaration: true,
});

/**
 * Validates every body, query and params with its zod DTO and refuses any that has none, so no
 * input reaches a handler unchecked. Custom parameter decorators (the authenticated principal)
 * carry server-made values and are passed through.
 */
@Injectable()
export class ApiValidationPipe extends ZodPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.type === 'custom' ? value : super.transform(value, metadata);
  }
}
