/** Rows of an NDJSON body, parsed one line at a time as they arrive: memory holds one chunk and one line. */

export async function* ndjsonRows<R>(body: ReadableStream<Uint8Array>): AsyncGenerator<R> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let pending = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let start = 0;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
        const line = pending.slice(start, nl);
        start = nl + 1;
        if (line.trim()) yield JSON.parse(line) as R;
      }
      pending = pending.slice(start);
    }
    pending += decoder.decode();
    if (pending.trim()) yield JSON.parse(pending) as R;
  } finally {
    // A consumer that stops early (break, throw) closes the connection instead of draining it.
    await reader.cancel().catch(() => {});
  }
}
