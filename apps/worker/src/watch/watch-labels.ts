import type { Config } from '@tributary/config';

/**
 * The `collection` label of the quality-watch series: `<tenant name>/<collection name>` when
 * WATCH_METRICS_COLLECTION_LABEL is on, else empty (one series per method, bounded however many
 * tenants there are).
 */
export function watchCollectionLabel(
  config: Pick<Config, 'WATCH_METRICS_COLLECTION_LABEL'>,
  c: { tenantName: string; name: string },
): string {
  return config.WATCH_METRICS_COLLECTION_LABEL ? `${c.tenantName}/${c.name}` : '';
}
