import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics';

/**
 * A Prometheus scrape endpoint (`GET /metrics`) on a port of its own: for processes without an HTTP
 * API (the worker), and for the API when its metrics stay off the tenants' port. `beforeRender`
 * updates scrape-time gauges (queue depth). Resolves with the bound port and a `close` function.
 */
export async function serveMetrics(
  metrics: Metrics,
  port: number,
  host = '127.0.0.1',
  beforeRender: () => Promise<void> = () => Promise.resolve(),
): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape GET /metrics\n');
      return;
    }
    beforeRender()
      .then(() => metrics.render())
      .then(
        (body) =>
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
