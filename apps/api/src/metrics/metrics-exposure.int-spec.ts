import { freePort } from '@tributary/testing';
import { startApi, type ApiHarness } from '../testing/api-harness';

describe('/metrics and /docs can be moved off the tenants’ port or closed', () => {
  let api: ApiHarness;
  afterEach(() => api.close());

  it('API_METRICS_PORT: /metrics only on a listener of its own, with the queue depth read at scrape', async () => {
    const port = await freePort();
    api = await startApi({ API_METRICS_PORT: String(port) });
    await api.request({ method: 'GET', url: '/health/live' });
    const onApiPort = await api.request({ method: 'GET', url: '/metrics' });
    expect(onApiPort.status).toBe(404);
    expect(onApiPort.body.error.code).toBe('not_found');

    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    expect(text).toContain(
      'tributary_http_request_duration_seconds_count{app="api",method="GET",route="/health/live",status="200"} 1',
    );
    expect(text).toMatch(/^tributary_queue_depth\{queue="embed-use-lite-1",app="api"\} 0$/m);
  });

  it('API_METRICS_ENABLED=false and DOCS_ENABLED=false: no /metrics, /docs or /docs-json at all', async () => {
    api = await startApi({ API_METRICS_ENABLED: 'false', DOCS_ENABLED: 'false' });
    for (const url of ['/metrics', '/docs', '/docs-json']) {
      const res = await api.request({ method: 'GET', url });
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
    }
    expect((await api.request({ method: 'GET', url: '/health/live' })).status).toBe(200);
  });
});
