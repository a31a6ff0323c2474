/**
 * Reads the header (type byte + int32 length) of every message the backend sends on a client's
 * socket before pg-protocol parses it, so a result row (DataRow 'D') is refused, counted and paid
 * for while it is still only a length field: a row over the limit or past the byte cap destroys the
 * socket at once (pg-protocol never buffers it), and bytes the process budget cannot grant yet pause
 * the socket (TCP backpressure holds the backend) until they can.
 *
 * Attached per statement, when the connection is idle (every earlier reply read), so the first byte
 * it sees starts a message; the walk keeps only the offset of the next header across chunks.
 */
import type { Duplex } from 'node:stream';
import type { ResultMemoryAccount } from '../port.js';

const DATA_ROW = 0x44;

export type WireStop =
  | { reason: 'row_too_large'; rowBytes: number }
  | { reason: 'byte_cap' }
  | { reason: 'memory'; error: unknown };

export interface WireWatchOptions {
  maxRowBytes: number;
  /** Result bytes (DataRow messages) the statement may receive; more stops it. */
  maxBytes: number;
  memory?: ResultMemoryAccount | undefined;
  /** Called once, when the watch destroyed the socket. */
  onStop(stop: WireStop): void;
}

export class WireWatch {
  /** DataRow bytes admitted so far (rows within the limits). */
  bytes = 0;
  /** DataRow messages admitted so far. */
  rows = 0;
  /** The largest DataRow admitted so far. */
  largestRow = 0;
  stopped: WireStop | undefined;

  private header = Buffer.alloc(5);
  private headerFill = 0;
  private bodyLeft = 0;
  private attached = false;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: WireWatchOptions,
  ) {
    stream.prependListener('data', this.onData);
    this.attached = true;
  }

  /** Stops watching (a COPY takes the socket over; the statement ended). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stream.removeListener('data', this.onData);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.stopped) return;
    let need = 0;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.bodyLeft > 0) {
        const skip = Math.min(this.bodyLeft, n - i);
        this.bodyLeft -= skip;
        i += skip;
        continue;
      }
      let type: number;
      let length: number;
      if (this.headerFill === 0 && i + 5 <= n) {
        type = chunk[i]!;
        length = chunk.readInt32BE(i + 1);
        i += 5;
      } else {
        const take = Math.min(5 - this.headerFill, n - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < 5) break;
        this.headerFill = 0;
        type = this.header[0]!;
        length = this.header.readInt32BE(1);
      }
      this.bodyLeft = length - 4;
      if (type !== DATA_ROW) continue;
      const rowBytes = length + 1;
      if (rowBytes > this.opts.maxRowBytes) {
        this.stop({ reason: 'row_too_large', rowBytes });
        return;
      }
      if (this.bytes + rowBytes > this.opts.maxBytes) {
        this.stop({ reason: 'byte_cap' });
        return;
      }
      this.bytes += rowBytes;
      this.rows++;
      if (rowBytes > this.largestRow) this.largestRow = rowBytes;
      need += rowBytes;
    }
    if (need > 0 && this.opts.memory) this.pay(this.opts.memory, need);
  };

  private pay(memory: ResultMemoryAccount, bytes: number): void {
    let granted: true | Promise<void>;
    try {
      granted = memory.reserve(bytes);
    } catch (error) {
      this.stop({ reason: 'memory', error });
      return;
    }
    if (granted === true) return;
    this.stream.pause();
    granted.then(
      () => {
        if (!this.stopped) this.stream.resume();
      },
      (error) => this.stop({ reason: 'memory', error }),
    );
  }

  private stop(stop: WireStop): void {
    if (this.stopped) return;
    this.stopped = stop;
    this.detach();
    this.stream.destroy();
    this.opts.onStop(stop);
  }
}
