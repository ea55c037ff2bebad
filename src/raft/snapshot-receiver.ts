/**
 * A follower's half of a chunked snapshot transfer: chunks are accepted only in order (each must
 * start at the bytes held so far); any other chunk is answered with the offset held, and the
 * leader resends from there. A transfer survives a change of leader when the new leader sends the
 * same snapshot (same index and term). Memory: the chunks of one snapshot, at most its size.
 */
import type { SnapshotChunk, SnapshotMeta } from './types.js';

/** What a chunk did. */
export type ChunkOutcome =
  | {
      /** Accepted or not: `offset` is what is held now. */
      kind: 'partial';
      /** Bytes held. */
      offset: number;
      /** The chunk did not start at the offset held: the sender must resend from `offset`. */
      resend: boolean;
    }
  | {
      /** The last chunk arrived: the snapshot is whole. */
      kind: 'complete';
      /** The snapshot. */
      meta: SnapshotMeta;
      /** Its bytes. */
      data: Uint8Array;
    };

/** Assembles one incoming snapshot. */
export class SnapshotReceiver {
  private meta: SnapshotMeta | undefined;
  private size = 0;
  private chunks: Uint8Array[] = [];
  private received = 0;

  /** Takes one chunk. */
  accept(chunk: SnapshotChunk): ChunkOutcome {
    const same = this.meta !== undefined && this.meta.index === chunk.meta.index && this.meta.term === chunk.meta.term && this.size === chunk.size;
    if (!same) {
      if (chunk.offset !== 0) return { kind: 'partial', offset: 0, resend: true };
      this.meta = chunk.meta;
      this.size = chunk.size;
      this.chunks = [];
      this.received = 0;
    }
    if (chunk.offset !== this.received) return { kind: 'partial', offset: this.received, resend: chunk.offset > this.received };
    this.chunks.push(chunk.data);
    this.received += chunk.data.length;
    if (this.received < this.size) return { kind: 'partial', offset: this.received, resend: false };
    const data = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.chunks) {
      data.set(part, at);
      at += part.length;
    }
    const meta = chunk.meta;
    this.meta = undefined;
    this.chunks = [];
    this.received = 0;
    return { kind: 'complete', meta, data };
  }
}
