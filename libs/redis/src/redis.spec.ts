import { redisConnectionOptions, redisOptions } from './redis';

describe('Redis connection settings', () => {
  it('follows BullMQ guidance: workers retry forever, producers fail fast', () => {
    expect(redisOptions('worker').maxRetriesPerRequest).toBeNull();
    expect(redisOptions('producer')).toMatchObject({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
  });

  it('reads host, port, credentials, database and TLS from the URL', () => {
    expect(redisConnectionOptions('rediss://user:p%40ss@cache.internal:6380/2', 'worker', 'x')).toMatchObject(
      {
        host: 'cache.internal',
        port: 6380,
        username: 'user',
        password: 'p@ss',
        db: 2,
        tls: {},
        maxRetriesPerRequest: null,
        connectionName: 'tributary:x',
      },
    );
    expect(redisConnectionOptions('redis://127.0.0.1', 'producer', 'y')).toMatchObject({
      host: '127.0.0.1',
      port: 6379,
      db: 0,
    });
  });
});
