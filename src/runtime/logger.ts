/** Structured JSON logs on stderr (stdout is for what the user asked to see). Secrets are redacted. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'redshift-spectra' },
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'api_key',
          'apiKey',
          'password',
          '*.password',
          'secret',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
