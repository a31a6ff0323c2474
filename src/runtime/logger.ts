/** The process logger now lives in observability/ (what http/ and observability/ import); kept for runtime/ and cli/ importers. */
export { createLogger, type Logger } from '../observability/logger.js';
