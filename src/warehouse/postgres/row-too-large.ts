/** The refusal of a result row (or COPY line) over SPECTRA_MAX_ROW_BYTES, whatever the delivery. */
import { ApiError } from '../../domain/errors.js';

export function rowTooLarge(maxRowBytes: number, rowBytes?: number): ApiError {
  return new ApiError(
    'RESULT_TOO_LARGE',
    `a result row is larger than the limit of ${maxRowBytes} bytes (SPECTRA_MAX_ROW_BYTES); select fewer or smaller columns`,
    {
      reason: 'row_too_large',
      max_row_bytes: maxRowBytes,
      ...(rowBytes !== undefined ? { row_bytes: rowBytes } : {}),
      setting: 'SPECTRA_MAX_ROW_BYTES',
    },
  );
}
