/** The error every Warehouse adapter throws when a statement was cancelled on purpose (job cancel, client gone). */
import { ApiError } from '../domain/errors.js';

export class StatementCancelledError extends ApiError {
  constructor() {
    super('QUERY_FAILED', 'the statement was cancelled', { reason: 'cancelled', sqlstate: '57014' });
  }
}
