export { createLogger, logAccess, loggerOptions, requestIdFor } from './logger';
export type { AccessLogEntry } from './logger';
export { Metrics } from './metrics';
export { closeOnSignals, exitOnStartupFailure, runApplicationContext } from './shutdown';
export { serveMetrics } from './metrics-server';
