import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';
import {
  collectionListSchema,
  itemIdSchema,
  resourceNameSchema,
  searchResultSchema,
  searchSchema,
} from '@tributary/contracts';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { ApiErrors } from '../common/openapi';
import { CollectionsService } from './collections.service';

class SearchDto extends createZodDto(searchSchema) {}
class SearchResultDto extends createZodDto(searchResultSchema) {}
class CollectionListDto extends createZodDto(collectionListSchema) {}
class CollectionParamDto extends createZodDto(z.object({ name: resourceNameSchema }).strict()) {}
class ItemParamDto extends createZodDto(z.object({ name: resourceNameSchema, id: itemIdSchema }).strict()) {}

@ApiTags('collections')
@TenantAuth()
@Controller('v1/collections')
export class CollectionsController {
  constructor(private readonly collections: CollectionsService) {}

  @Get()
  @ApiOperation({ summary: 'The tenant’s collections: model version, dimensions, point count' })
  @ZodResponse({ status: 200, type: CollectionListDto, description: 'Every collection' })
  list(@Principal() principal: TenantPrincipal) {
    return this.collections.list(principal);
  }

  @Post(':name/search')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Similarity search',
    description:
      'A text query is embedded with the collection’s model version; a vector query must have its dimensions. ' +
      '`filter` matches metadata values exactly (all of them).',
  })
  @ZodResponse({
    status: 200,
    type: SearchResultDto,
    description:
      'Up to k items, most similar first; header `x-tributary-model` names the version that answered',
  })
  @ApiErrors(400, 404, 415, 422, 503)
  @ApiHeader({
    name: 'x-tributary-route-key',
    required: false,
    description:
      'During a canary rollout, the same key always gets the same version (sticky routing); without it each search is routed at random',
  })
  async search(
    @Principal() principal: TenantPrincipal,
    @Param() params: CollectionParamDto,
    @Body() body: SearchDto,
    @Headers('x-tributary-route-key') routeKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.collections.search(principal, params.name, body, routeKey || undefined);
    void reply.header('x-tributary-model', result.model);
    return result;
  }

  @Delete(':name/items/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an item’s vector (and its stored input)' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(404, 422)
  async remove(@Principal() principal: TenantPrincipal, @Param() params: ItemParamDto): Promise<void> {
    await this.collections.deleteItem(principal, params.name, params.id);
  }
}
