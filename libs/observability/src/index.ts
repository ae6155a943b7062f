export { createLogger, loggerOptions, requestIdFor } from './logger';
export { Metrics } from './metrics';
export { closeOnSignals, exitOnStartupFailure, runApplicationContext } from './shutdown';
export { serveMetrics } from './metrics-server';
