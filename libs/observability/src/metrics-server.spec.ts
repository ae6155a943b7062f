import { Metrics } from './metrics';
import { serveMetrics } from './metrics-server';

describe('serveMetrics', () => {
  it('serves the registry in Prometheus text format at GET /metrics, and 404 elsewhere', async () => {
    const metrics = new Metrics('worker');
    metrics.itemsEmbedded.inc({ model: 'use-lite@1' }, 3);
    const server = await serveMetrics(metrics, 0);
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const body = await response.text();
      expect(body).toContain('tributary_items_embedded_total{model="use-lite@1",app="worker"} 3');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
