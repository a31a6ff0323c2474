/**
 * Structured JSON logs on stderr (stdout is for what the user asked to see). Secrets are redacted
 * by path; beyond that, nothing logs request headers, credentials or bind-parameter values.
 */
import pino from 'pino';

export type Logger = pino.Logger;

/** Field paths whose values never reach the output, at any depth we know of. */
const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'api_key',
  'apiKey',
  '*.api_key',
  '*.apiKey',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'credential',
  '*.credential',
  'params',
  '*.params',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'redshift-spectra' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? stderrDestination(),
  );
}

function stderrDestination(): pino.DestinationStream {
  const stream = pino.destination({ fd: 2, sync: false });
  // stderr gone (terminal closed, pipe reader exited): log lines are lost, the process carries on.
  stream.on('error', () => {});
  return stream;
}
