/**
 * A Buffer over the same memory as a Uint8Array, without a copy, for what only Buffer does
 * natively: `copy` between arrays without a view allocated per call, `toString('latin1')`.
 * Buffer.from costs about 100 ns, so each user keeps one BufferView whose last answer is reused
 * while it is asked about the same array (a ring's bytes, the UTF-8 scratch), as it nearly always is.
 */
export class BufferView {
  private lastBytes: Uint8Array | undefined;
  private lastBuffer: Buffer | undefined;

  of(bytes: Uint8Array): Buffer {
    if (bytes !== this.lastBytes) {
      this.lastBytes = bytes;
      this.lastBuffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.lastBuffer!;
  }

  /** Copies `source[start, end)` into `target` at `at`: a native copy, no view allocated. */
  copy(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
    this.of(source).copy(target, at, start, end);
  }
}
