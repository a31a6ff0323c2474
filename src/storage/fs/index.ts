/**
 * ResultStore on a folder (embedded shape: SPECTRA_HOME/results; a cluster: a shared volume).
 * Writes go to a private `.part-…` file renamed into place on close, so readers never see half an
 * object. URLs are signed with HMAC (url-signer.ts) and served by the API under `/v1/downloads/`.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, notFound } from '../../domain/errors.js';
import {
  isValidResultKey,
  type ResultObject,
  type ResultStore,
  type ResultWriter,
  type SignedMethod,
  type SignedUrl,
} from '../port.js';
import { UrlSigner } from './url-signer.js';

export { DOWNLOAD_PATH_PREFIX, UrlSigner } from './url-signer.js';

/** Write buffer per open object: large enough for few syscalls, small enough to bound memory. */
const WRITE_HIGH_WATER_MARK = 1 << 20;
const READ_HIGH_WATER_MARK = 256 << 10;
const PART_MARKER = '.part-';

export interface FsResultStoreOptions {
  root: string;
  signingKey: string;
  /** Absolute origin for signed URLs (e.g. behind a proxy); empty = URLs relative to the API's origin. */
  publicUrl?: string;
}

export class FsResultStore implements ResultStore {
  readonly root: string;
  readonly signer: UrlSigner;
  private readonly publicUrl: string;

  constructor(opts: FsResultStoreOptions) {
    this.root = path.resolve(opts.root);
    this.signer = new UrlSigner(opts.signingKey);
    this.publicUrl = (opts.publicUrl ?? '').replace(/\/+$/, '');
  }

  private file(key: string): string {
    if (!isValidResultKey(key)) throw new ApiError('INVALID_REQUEST', 'invalid result key', { key });
    return path.join(this.root, ...key.split('/'));
  }

  private folder(prefix: string): string {
    if (!prefix.endsWith('/')) throw new Error(`a result prefix ends with "/": ${prefix}`);
    return this.file(prefix.slice(0, -1));
  }

  async createWriter(key: string): Promise<ResultWriter> {
    const target = this.file(key);
    await mkdir(path.dirname(target), { recursive: true });
    const part = `${target}${PART_MARKER}${randomBytes(6).toString('hex')}`;
    const stream = createWriteStream(part, { highWaterMark: WRITE_HIGH_WATER_MARK });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return new FsResultWriter(stream, part, target);
  }

  async read(
    key: string,
    range: { offset?: number; length?: number } = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    const file = this.file(key);
    const start = range.offset ?? 0;
    if (range.length === 0) return emptyIterable();
    const end = range.length === undefined ? undefined : start + range.length - 1;
    const stream = createReadStream(file, { start, end, highWaterMark: READ_HIGH_WATER_MARK });
    await new Promise<void>((resolve, reject) => {
      stream.once('ready', () => resolve());
      stream.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' ? notFound('result') : e),
      );
    });
    return stream;
  }

  async stat(key: string): Promise<ResultObject | null> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? { key, sizeBytes: s.size, modifiedAt: s.mtime.toISOString() } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async list(prefix: string): Promise<ResultObject[]> {
    const dir = this.folder(prefix);
    const out: ResultObject[] = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(abs, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const entry of entries) {
        const childAbs = path.join(abs, entry.name);
        const childRel = `${rel}${entry.name}`;
        if (entry.isDirectory()) await walk(childAbs, `${childRel}/`);
        else if (entry.isFile()) {
          const s = await stat(childAbs).catch(() => null);
          if (s) out.push({ key: childRel, sizeBytes: s.size, modifiedAt: s.mtime.toISOString() });
        }
      }
    };
    await walk(dir, prefix);
    return out;
  }

  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.folder(prefix), { recursive: true, force: true });
  }

  async signedUrl(
    method: SignedMethod,
    key: string,
    expiresInSeconds: number,
    opts: { filename?: string } = {},
  ): Promise<SignedUrl> {
    // The API serves `/v1/downloads/{tenant}/{id}/{file}`: only such keys get URLs.
    if (!isValidResultKey(key) || key.split('/').length !== 3) {
      throw new ApiError('INVALID_REQUEST', 'signed URLs are issued for {tenant}/{id}/{file} keys only', {
        key,
      });
    }
    const expires = Math.floor(Date.now() / 1000) + Math.max(1, Math.floor(expiresInSeconds));
    return {
      url: `${this.publicUrl}${this.signer.path(method, key, expires, opts.filename)}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }
}

class FsResultWriter implements ResultWriter {
  bytesWritten = 0;
  private failure: Error | undefined;

  constructor(
    private readonly stream: WriteStream,
    private readonly part: string,
    private readonly target: string,
  ) {
    stream.on('error', (e) => {
      this.failure = e;
    });
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.failure) throw this.failure;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (bytes.length === 0) return;
    this.bytesWritten += bytes.length;
    if (!this.stream.write(bytes)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.stream.off('error', onError);
          resolve();
        };
        const onError = (e: Error) => {
          this.stream.off('drain', onDrain);
          reject(e);
        };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  async close(): Promise<{ sizeBytes: number }> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    await rename(this.part, this.target);
    return { sizeBytes: this.bytesWritten };
  }

  async abort(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.stream.closed) resolve();
      else this.stream.destroy();
      this.stream.once('close', () => resolve());
    });
    await rm(this.part, { force: true });
  }
}

async function* emptyIterable(): AsyncIterable<Uint8Array> {}
