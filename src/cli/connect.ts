/** A data command's client: the target from flags, environment and profiles; Ctrl-C as an abort signal. */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SpectraClient } from '../client/client.js';
import { VERSION } from '../runtime/version.js';
import type { Io } from './command.js';
import { resolveTarget, type Target, type TargetFlags } from './profiles.js';

export interface Connection {
  client: SpectraClient;
  target: Target;
}

/** The target flags of a command that takes `--key` (or `--api-key`) as the API key. */
export function targetFlags(values: TargetFlags & { 'api-key'?: string | undefined }): TargetFlags {
  return { url: values.url, profile: values.profile, key: values['api-key'] ?? values.key };
}

/** Connects, and records the target's source for the "no server there" hint. */
export async function connect(flags: TargetFlags, io: Io, hint: { source?: string }): Promise<Connection> {
  const target = await resolveTarget(flags, io.env);
  hint.source = target.source;
  const { createSpectraClient } = await import('../client/client.js');
  const client = createSpectraClient({
    url: target.url,
    apiKey: target.apiKey,
    headers: { 'User-Agent': `spectra-cli/${VERSION}` },
  });
  return { client, target };
}

/**
 * Runs `work` with a signal that Ctrl-C aborts; `onInterrupt` then undoes what runs on the server
 * (cancels the job). A second Ctrl-C exits at once.
 */
export async function interruptible<T>(
  work: (signal: AbortSignal) => Promise<T>,
  onInterrupt?: () => Promise<void>,
): Promise<T> {
  const controller = new AbortController();
  let interrupted: Promise<void> | null = null;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    controller.abort(new Error('interrupted'));
    interrupted = (onInterrupt?.() ?? Promise.resolve()).catch(() => {});
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } catch (e) {
    if (interrupted) await interrupted;
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Writes a byte stream to a file (removed again if the copy fails) or to stdout. */
export async function writeBody(
  body: ReadableStream<Uint8Array>,
  file: string | undefined,
  io: Io,
): Promise<void> {
  const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  if (!file) {
    await pipeline(source, io.out as Writable, { end: false });
    return;
  }
  try {
    await pipeline(source, createWriteStream(file));
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  }
}

/** Counts bytes (and newlines) flowing through, for progress. */
export function counting(
  body: ReadableStream<Uint8Array>,
  onChunk: (bytes: number, lines: number) => void,
): ReadableStream<Uint8Array> {
  let bytes = 0;
  let lines = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        onChunk(bytes, lines);
        controller.enqueue(chunk);
      },
    }),
  );
}
