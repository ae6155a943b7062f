import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CONVERSATION_MESSAGES_SHOWN,
  conversationParamsSchema,
  conversationSchema,
  DOCUMENT_SENTENCES_SHOWN,
  documentParamsSchema,
  documentSchema,
  NotFoundError,
} from '@tributary/contracts';
import { SpaceRepository } from '@tributary/db';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { ApiErrors } from '../common/openapi';

export class ConversationParamsDto extends createZodDto(conversationParamsSchema) {}
export class DocumentParamsDto extends createZodDto(documentParamsSchema) {}
export class ConversationDto extends createZodDto(conversationSchema) {}
export class DocumentDto extends createZodDto(documentSchema) {}

/**
 * What stateful stream kinds derived, as a tenant reads it: a conversation with its context
 * vector, a document with its pooled vector (by the collection's serving version). Another
 * tenant's stream, or an unknown group, is a 404.
 */
@ApiTags('streams')
@TenantAuth()
@Controller('v1/streams')
export class StreamStateController {
  constructor(private readonly spaces: SpaceRepository) {}

  @Get(':id/conversations/:conversationId')
  @ApiOperation({
    summary: 'A conversation of a conversation stream, with its context vector',
    description:
      'The context vector is that of its latest embedded message: `normalize(Σ_{j<W} decay^j · e_{n-j})` ' +
      'over the last `contextWindow` messages (the stream’s settings).',
  })
  @ZodResponse({ status: 200, type: ConversationDto, description: 'The conversation' })
  @ApiErrors(404, 422)
  async conversation(@Principal() principal: TenantPrincipal, @Param() params: ConversationParamsDto) {
    const group = await this.spaces.group(principal.tenant.id, params.id, params.conversationId, 'context', {
      limit: CONVERSATION_MESSAGES_SHOWN,
      newest: true,
    });
    if (!group) throw new NotFoundError('Conversation', params.conversationId);
    return {
      id: params.conversationId,
      messages: group.count,
      lastSequence: group.lastSequence,
      context: group.vector ? Array.from(group.vector) : null,
      contextMessages: group.vectorMembers,
      items: group.members,
    };
  }

  @Get(':id/documents/:documentId')
  @ApiOperation({
    summary: 'A document of a document stream, with its attention-pooled vector',
    description:
      '`normalize(Σ_i softmax_i(e_i · m / τ) · e_i)` over its sentence vectors, `m = normalize(Σ_i e_i)`, ' +
      'τ the stream’s `temperature`.',
  })
  @ZodResponse({ status: 200, type: DocumentDto, description: 'The document' })
  @ApiErrors(404, 422)
  async document(@Principal() principal: TenantPrincipal, @Param() params: DocumentParamsDto) {
    const group = await this.spaces.group(principal.tenant.id, params.id, params.documentId, 'documents', {
      limit: DOCUMENT_SENTENCES_SHOWN,
      newest: false,
    });
    if (!group) throw new NotFoundError('Document', params.documentId);
    return {
      id: params.documentId,
      sentences: group.count,
      vector: group.vector ? Array.from(group.vector) : null,
      vectorSentences: group.vectorMembers,
      items: group.members,
    };
  }
}
