import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiOperation, type OpenAPIObject } from '@nestjs/swagger';
import { SIGNATURE_HEADER, signatureScheme, TIMESTAMP_HEADER } from './webhook-signature';

/**
 * Stands for the signature scheme in an operation's description: decorators run before the
 * configuration is known, so {@link describeSignatureScheme} fills it in when the document is built.
 */
const SIGNATURE_SCHEME_SLOT = '{{webhook-signature-scheme}}';

/** Documents a signed webhook route: its summary, the description followed by the signature scheme, the headers. */
export function ApiSignedWebhook(operation: { summary: string; description: string }) {
  return applyDecorators(
    ApiOperation({
      summary: operation.summary,
      description: `${operation.description} ${SIGNATURE_SCHEME_SLOT}`,
    }),
    ApiHeader({ name: TIMESTAMP_HEADER, required: true, description: 'Unix seconds' }),
    ApiHeader({ name: SIGNATURE_HEADER, required: true, description: 'v1=<hex HMAC-SHA256>' }),
  );
}

/** Writes the signature scheme, with the configured tolerance, into the operations that document it. */
export function describeSignatureScheme(document: OpenAPIObject, toleranceSeconds: number): OpenAPIObject {
  const scheme = signatureScheme(toleranceSeconds);
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      const op = operation as { description?: unknown } | undefined;
      if (typeof op?.description === 'string' && op.description.includes(SIGNATURE_SCHEME_SLOT)) {
        op.description = op.description.replaceAll(SIGNATURE_SCHEME_SLOT, scheme);
      }
    }
  }
  return document;
}
