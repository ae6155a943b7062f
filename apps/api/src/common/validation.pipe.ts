import { Injectable, type ArgumentMetadata } from '@nestjs/common';
import { DomainError, ValidationError } from '@tributary/contracts';
import { createZodValidationPipe } from 'nestjs-zod';
import type { ZodError } from 'zod';

type Issue = ZodError['issues'][number];

function describePath(path: PropertyKey[]): string {
  return path.length === 0 ? '(body)' : path.map(String).join('.');
}

/** What an issue means in words a client can act on (the schemas word their own rules; see `oneOf`, `keyedRecord`). */
function describeIssue(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  // zod reports a missing field as "expected string, received undefined".
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
    return `required (${issue.expected})`;
  }
  return issue.message;
}

/** Turns a zod failure into a 422 that lists every bad field and why. */
export function validationErrorFrom(error: ZodError): ValidationError {
  return invalidRequest(error.issues.map((issue) => ({ path: issue.path, message: describeIssue(issue) })));
}

/** A 422 listing every bad field (its path) and why: the pipe's and the services' one shape. */
export function invalidRequest(issues: { path: PropertyKey[]; message: string }[]): ValidationError {
  const details = issues.map((issue) => ({ path: describePath(issue.path), message: issue.message }));
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
 * carry server-made values and are passed through. An empty body is read as `{}`, so a route
 * whose fields are all optional needs none (many clients send none, even with a JSON content
 * type); a route that needs fields says which.
 */
@Injectable()
export class ApiValidationPipe extends ZodPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    if (metadata.type !== 'body' || value !== undefined) return super.transform(value, metadata);
    try {
      return super.transform({}, metadata);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new DomainError(
        'invalid_json',
        `Request body is empty, but this request needs a JSON object: ${err.message.replace(/^Request is invalid: /, '')}`,
        err.details,
      );
    }
  }
}
