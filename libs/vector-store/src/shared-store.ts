import type { Config } from '@tributary/config';
import { PgVectorStore, type SqlClient } from './pgvector/pg-vector-store';
import { QdrantVectorStore } from './qdrant/qdrant-vector-store';
import type { VectorStore } from './vector-store';

/**
 * The store every process writes to directly when VECTOR_STORE is `pgvector` or `qdrant`;
 * undefined for `embedded`, whose index belongs to the API process alone.
 */
export function openSharedVectorStore(
  config: Pick<Config, 'VECTOR_STORE' | 'QDRANT_URL' | 'QDRANT_API_KEY'>,
  sql: SqlClient,
): VectorStore | undefined {
  switch (config.VECTOR_STORE) {
    case 'embedded':
      return undefined;
    case 'pgvector':
      return new PgVectorStore({ sql });
    case 'qdrant':
      if (!config.QDRANT_URL) throw new Error('VECTOR_STORE=qdrant needs QDRANT_URL');
      return new QdrantVectorStore({
        url: config.QDRANT_URL,
        ...(config.QDRANT_API_KEY ? { apiKey: config.QDRANT_API_KEY } : {}),
      });
  }
}
