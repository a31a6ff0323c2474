/** How the control-state store answers when PostgreSQL cannot be reached, for plain queries and COPY alike. */
import { ApiError } from '../../domain/errors.js';

/** The store is unreachable: no connection (no SQLSTATE), a connection error, the server shutting down or starting. */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code === '57P01' || code === '57P03';
}

/** How every control-state call answers an unreachable store: 503, retry in 5 s. */
export function controlStoreUnavailable(): ApiError {
  return new ApiError('WAREHOUSE_UNAVAILABLE', 'control state store unavailable', {}, 5);
}
