/**
 * ResultStore on Amazon S3: object `{prefix}{tenant}/{job}/…` in one bucket. Writes stream through
 * lib-storage's multipart `Upload` (memory bounded by part size × queue size, whatever the object's
 * size) and become visible only when the upload completes; reads are GETs, from an offset with a
 * Range header. URLs are real presigned URLs (SigV4, expiring), fetched from S3, not from the API.
 */
import { PassThrough, type Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ApiError, notFound } from '../../domain/errors.js';
import { resultContentType } from '../content-type.js';
import {
  isValidResultKey,
  type ResultKeyKind,
  type ResultObject,
  type ResultStore,
  type ResultWriter,
  resultKeyKind,
  type SignedMethod,
  type SignedUrl,
} from '../port.js';

/** S3's minimum part size; with QUEUE_SIZE parts in flight a writer holds ~10 MiB at most. */
const PART_SIZE_BYTES = 5 << 20;
const QUEUE_SIZE = 2;
/** SigV4 presigned URLs live at most 7 days. */
const MAX_URL_EXPIRY_SECONDS = 7 * 86_400;
const DELETE_BATCH = 1000;
const FILENAME = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * Without WHEN_REQUIRED the SDK adds CRC32 checksums to every request, and a presigned PUT URL
 * would carry the checksum of an empty body, which S3 then rejects for the real upload.
 */
export const S3_CHECKSUM_SETTINGS = {
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
} as const satisfies Pick<S3ClientConfig, 'requestChecksumCalculation' | 'responseChecksumValidation'>;

/** An S3 client with the checksum settings above; the SDK's Node-version notice is not for our users. */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({ ...config, ...S3_CHECKSUM_SETTINGS });
}

export interface S3ResultStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of query job results: empty, or `/`-separated segments ending with `/` (e.g. `results/`). */
  prefix?: string;
  /** Key prefix of bulk job files (exports, failed records); default `prefix`. */
  bulkPrefix?: string;
  /** Key prefix of bulk import uploads; default `prefix`. Separate prefixes get separate lifecycle rules. */
  uploadsPrefix?: string;
  partSizeBytes?: number;
  queueSize?: number;
}

/** `''` or segments of `[A-Za-z0-9._-]` each followed by `/`. */
export function isValidS3Prefix(prefix: string): boolean {
  return prefix === '' || (prefix.endsWith('/') && isValidResultKey(prefix.slice(0, -1)));
}

export class S3ResultStore implements ResultStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly prefixes: Record<ResultKeyKind, string>;
  private readonly partSizeBytes: number;
  private readonly queueSize: number;

  constructor(opts: S3ResultStoreOptions) {
    const prefix = opts.prefix ?? 'results/';
    this.prefixes = {
      results: prefix,
      bulk: opts.bulkPrefix ?? prefix,
      uploads: opts.uploadsPrefix ?? prefix,
    };
    const distinct = [...new Set(Object.values(this.prefixes))];
    for (const p of distinct) {
      if (!isValidS3Prefix(p)) throw new Error(`invalid S3 key prefix "${p}": segments ending with "/"`);
      // A prefix inside another would list one kind's objects as keys of the other.
      const outer = distinct.find((q) => q !== p && p.startsWith(q));
      if (outer !== undefined) throw new Error(`S3 key prefixes "${outer}" and "${p}" overlap`);
    }
    if (!opts.bucket) throw new Error('an S3 bucket name is required');
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.prefix = prefix;
    this.partSizeBytes = Math.max(PART_SIZE_BYTES, opts.partSizeBytes ?? PART_SIZE_BYTES);
    this.queueSize = Math.max(1, opts.queueSize ?? QUEUE_SIZE);
  }

  /** The S3 key of a result key; the only way a key reaches S3, so validation cannot be skipped. */
  objectKey(key: string): string {
    if (!isValidResultKey(key)) throw new ApiError('INVALID_REQUEST', 'invalid result key', { key });
    return `${this.prefixes[resultKeyKind(key)]}${key}`;
  }

  /** The S3 folders a result folder's objects can be in (one per distinct prefix), each with its prefix. */
  private folderKeys(prefix: string): { storePrefix: string; folder: string }[] {
    if (!prefix.endsWith('/')) throw new Error(`a result prefix ends with "/": ${prefix}`);
    const folder = prefix.slice(0, -1);
    if (!isValidResultKey(folder))
      throw new ApiError('INVALID_REQUEST', 'invalid result key', { key: folder });
    return [...new Set(Object.values(this.prefixes))].map((p) => ({
      storePrefix: p,
      folder: `${p}${folder}/`,
    }));
  }

  async createWriter(key: string): Promise<ResultWriter> {
    const body = new PassThrough({ highWaterMark: 256 << 10 });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body },
      partSize: this.partSizeBytes,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    return new S3ResultWriter(upload, body);
  }

  async read(
    key: string,
    range: { offset?: number; length?: number } = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    const objectKey = this.objectKey(key);
    const start = range.offset ?? 0;
    if (range.length === 0) return emptyIterable();
    const Range =
      start === 0 && range.length === undefined
        ? undefined
        : `bytes=${start}-${range.length === undefined ? '' : start + range.length - 1}`;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range }),
      );
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw notFound('result');
      // A start at or past the end: S3 answers 416 where a file read yields nothing.
      if (statusOf(e) === 416) return emptyIterable();
      throw e;
    }
  }

  async stat(key: string): Promise<ResultObject | null> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return {
        key,
        sizeBytes: out.ContentLength ?? 0,
        modifiedAt: (out.LastModified ?? new Date()).toISOString(),
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async list(prefix: string): Promise<ResultObject[]> {
    const out: ResultObject[] = [];
    for (const { storePrefix, folder } of this.folderKeys(prefix)) {
      let ContinuationToken: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folder, ContinuationToken }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key?.startsWith(folder)) continue;
          const key = o.Key.slice(storePrefix.length);
          // An object of another kind left under this prefix is not one of this store's keys.
          if (this.prefixes[resultKeyKind(key)] !== storePrefix) continue;
          out.push({
            key,
            sizeBytes: o.Size ?? 0,
            modifiedAt: (o.LastModified ?? new Date()).toISOString(),
          });
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys = (await this.list(prefix)).map((o) => this.objectKey(o.key));
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (out.Errors?.length) {
        const first = out.Errors[0]!;
        throw new Error(`S3 could not delete ${out.Errors.length} objects (${first.Key}: ${first.Code})`);
      }
    }
  }

  async signedUrl(
    method: SignedMethod,
    key: string,
    expiresInSeconds: number,
    opts: { filename?: string } = {},
  ): Promise<SignedUrl> {
    const Key = this.objectKey(key);
    const expiresIn = Math.min(MAX_URL_EXPIRY_SECONDS, Math.max(1, Math.floor(expiresInSeconds)));
    const signedAt = Date.now();
    const command =
      method === 'GET'
        ? new GetObjectCommand({
            Bucket: this.bucket,
            Key,
            // Served as the API serves it on the filesystem store: the type from the key, never sniffed.
            ResponseContentType: resultContentType(key),
            ResponseContentDisposition:
              opts.filename && FILENAME.test(opts.filename)
                ? `attachment; filename="${opts.filename}"`
                : undefined,
          })
        : new PutObjectCommand({ Bucket: this.bucket, Key });
    const url = await getSignedUrl(this.client, command, {
      expiresIn,
      signingDate: new Date(signedAt),
    });
    // X-Amz-Date has whole seconds: the URL expires `expiresIn` after the second it was signed in.
    return { url, expiresAt: new Date((Math.floor(signedAt / 1000) + expiresIn) * 1000).toISOString() };
  }
}

class S3ResultWriter implements ResultWriter {
  bytesWritten = 0;
  private failure: Error | undefined;
  private readonly done: Promise<unknown>;
  private readonly failed: Promise<never>;

  constructor(
    private readonly upload: Upload,
    private readonly body: PassThrough,
  ) {
    // The upload consumes the body from now on; a failure (e.g. no such bucket) ends every wait.
    this.done = upload.done();
    this.failed = this.done.then(
      () => new Promise<never>(() => {}),
      (e: Error) => {
        this.failure = e;
        body.destroy();
        throw e;
      },
    );
    this.failed.catch(() => {});
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.failure) throw this.failure;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (bytes.length === 0) return;
    this.bytesWritten += bytes.length;
    if (!this.body.write(bytes)) {
      await Promise.race([new Promise<void>((resolve) => this.body.once('drain', resolve)), this.failed]);
    }
  }

  async close(): Promise<{ sizeBytes: number }> {
    if (this.failure) throw this.failure;
    this.body.end();
    await this.done;
    return { sizeBytes: this.bytesWritten };
  }

  async abort(): Promise<void> {
    // Aborting the multipart upload leaves the key as it was (single-part uploads are not sent yet).
    await this.upload.abort().catch(() => {});
    this.body.destroy();
    await this.done.catch(() => {});
  }
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const name = (e as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(e) === 404;
}

async function* emptyIterable(): AsyncIterable<Uint8Array> {}
