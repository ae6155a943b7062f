import { Test } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { buildOpenApi } from '../create-app';
import { HooksController } from './hooks.controller';
import { IngestService } from './ingest.service';
import { WebhookReplayRelease } from './webhook-replay-release.interceptor';
import { secondsInWords, signatureScheme } from './webhook-signature';
import { WebhookSignatureGuard } from './webhook-signature.guard';

describe('the documented webhook signature scheme', () => {
  it('states the tolerance it is given, in words', () => {
    expect(signatureScheme(300)).toContain('older or newer than the tolerance (5 minutes) are refused');
    expect(signatureScheme(90)).toContain('(90 seconds)');
    expect(secondsInWords(60)).toBe('1 minute');
    expect(secondsInWords(7_200)).toBe('2 hours');
    expect(secondsInWords(86_400)).toBe('1 day');
    expect(secondsInWords(1)).toBe('1 second');
  });

  describe('in the OpenAPI document', () => {
    let app: NestFastifyApplication;

    beforeAll(async () => {
      // The webhook controller alone: the document is built from its decorators, no request is served.
      const module = await Test.createTestingModule({
        controllers: [HooksController],
        providers: [{ provide: IngestService, useValue: {} }],
      })
        .overrideGuard(WebhookSignatureGuard)
        .useValue({ canActivate: () => true })
        .overrideInterceptor(WebhookReplayRelease)
        .useValue({ intercept: () => undefined })
        .compile();
      app = module.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
      await app.init();
    });

    afterAll(() => app.close());

    const webhookDescription = (toleranceSeconds: number) => {
      const document = buildOpenApi(app, { WEBHOOK_TOLERANCE_SECONDS: toleranceSeconds });
      return document.paths['/v1/hooks/{streamId}']?.post?.description;
    };

    it('follows WEBHOOK_TOLERANCE_SECONDS', () => {
      expect(webhookDescription(300)).toBe(
        `Same body and answer as POST /v1/streams/{id}/items. ${signatureScheme(300)}`,
      );
      expect(webhookDescription(300)).toContain('(5 minutes)');
      expect(webhookDescription(45)).toContain('the tolerance (45 seconds) are refused');
      expect(webhookDescription(45)).not.toContain('5 minutes');
      expect(webhookDescription(600)).toContain('(10 minutes)');
    });
  });
});
