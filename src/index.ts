/**
 * The library surface of the package: run the service in-process with the settings `spectra serve`
 * takes (docs/configuration.md). The Lambda handlers are `redshift-spectra/lambda/{api,authorizer,worker}`.
 */
export { type Config, ConfigError, type Flags, loadConfig } from './config/index.js';
export { createLogger, type Logger } from './observability/logger.js';
export { type RunningServer, startServer } from './runtime/server.js';
export { VERSION } from './runtime/version.js';
