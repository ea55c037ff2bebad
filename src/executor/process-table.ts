/**
 * ProcessTable: a shard's processes by pid serial.
 *
 * Arrays, not one big Map: with a million processes a Map lookup is a few cache misses (its
 * buckets and entries are spread over tens of MB), which made the table more than a third of the
 * cost of a spawn. A serial splits into (stream, index) (pid.ts: the allocator that made it, and
 * that allocator's counter), and one allocator's serials reach a shard in increasing index order,
 * so processes are kept in pages of PAGE_SIZE consecutive indexes of one stream: a lookup is a
 * small Map lookup (usually skipped: the last page used is cached) and an array read, and spawns
 * fill each page in order.
 *
 * Memory stays bounded when processes are mostly short-lived: a page that is no longer its
 * stream's newest and holds SPARSE_AT processes or fewer is dissolved, its survivors moving to one
 * Map keyed by serial (`sparse`). A serial whose page is older than its stream's newest and gone
 * lives in `sparse`, so a range never has both a page and sparse entries. Per page that exists the
 * cost is PAGE_SIZE pointers (2 KiB); per stream (allocator ever seen) a small record, kept.
 */
import { serialFromParts, serialIndex, serialStream } from '../process/pid.js';

/** Indexes of one stream per page. */
const PAGE_SIZE = 256;
/** A page that is not its stream's newest is dissolved into `sparse` at this many processes. */
const SPARSE_AT = 16;

class Page<T> {
  readonly entries: (T | undefined)[] = new Array<T | undefined>(PAGE_SIZE).fill(undefined);
  live = 0;
}

class Stream<T> {
  readonly pages = new Map<number, Page<T>>();
  /** The highest page number created (it always exists), or -1. */
  newest = -1;
}

export class ProcessTable<T> {
  private readonly streams = new Map<number, Stream<T>>();
  private readonly sparse = new Map<number, T>();
  private count = 0;
  // The page of the last lookup (spawns and most deliveries hit the same page again).
  private lastStreamId = -1;
  private lastPageNo = -1;
  private lastStream: Stream<T> | undefined;
  private lastPage: Page<T> | undefined;

  get size(): number {
    return this.count;
  }

  get(serial: number): T | undefined {
    const index = serialIndex(serial);
    const pageNo = Math.floor(index / PAGE_SIZE);
    const page = this.page(serialStream(serial), pageNo);
    if (page !== undefined) return page.entries[index - pageNo * PAGE_SIZE];
    return this.sparse.size === 0 ? undefined : this.sparse.get(serial);
  }

  has(serial: number): boolean {
    return this.get(serial) !== undefined;
  }

  set(serial: number, value: T): void {
    const streamId = serialStream(serial);
    const index = serialIndex(serial);
    const pageNo = Math.floor(index / PAGE_SIZE);
    let page = this.page(streamId, pageNo);
    if (page === undefined) {
      let stream = this.streams.get(streamId);
      if (stream === undefined) {
        stream = new Stream<T>();
        this.streams.set(streamId, stream);
      }
      if (pageNo < stream.newest) {
        // An older range whose page is gone (or never was): it lives in `sparse`.
        if (!this.sparse.has(serial)) this.count++;
        this.sparse.set(serial, value);
        return;
      }
      page = new Page<T>();
      stream.pages.set(pageNo, page);
      const previous = stream.newest;
      stream.newest = pageNo;
      const old = previous < 0 ? undefined : stream.pages.get(previous);
      if (old !== undefined && old.live <= SPARSE_AT) this.dissolve(streamId, stream, previous, old);
      this.remember(streamId, pageNo, stream, page);
    }
    const slot = index - pageNo * PAGE_SIZE;
    if (page.entries[slot] === undefined) {
      page.live++;
      this.count++;
    }
    page.entries[slot] = value;
  }

  delete(serial: number): boolean {
    const streamId = serialStream(serial);
    const index = serialIndex(serial);
    const pageNo = Math.floor(index / PAGE_SIZE);
    const page = this.page(streamId, pageNo);
    if (page === undefined) {
      if (!this.sparse.delete(serial)) return false;
      this.count--;
      return true;
    }
    const slot = index - pageNo * PAGE_SIZE;
    if (page.entries[slot] === undefined) return false;
    page.entries[slot] = undefined;
    page.live--;
    this.count--;
    const stream = this.lastStream!;
    if (pageNo !== stream.newest && page.live <= SPARSE_AT) this.dissolve(streamId, stream, pageNo, page);
    return true;
  }

  *values(): IterableIterator<T> {
    for (const stream of this.streams.values()) {
      for (const page of stream.pages.values()) {
        for (const entry of page.entries) if (entry !== undefined) yield entry;
      }
    }
    yield* this.sparse.values();
  }

  /** The page of (stream, pageNo), if it exists; found pages become the cached one. */
  private page(streamId: number, pageNo: number): Page<T> | undefined {
    if (streamId === this.lastStreamId && pageNo === this.lastPageNo) return this.lastPage;
    const stream = this.streams.get(streamId);
    if (stream === undefined) return undefined;
    const page = stream.pages.get(pageNo);
    if (page !== undefined) this.remember(streamId, pageNo, stream, page);
    return page;
  }

  private remember(streamId: number, pageNo: number, stream: Stream<T>, page: Page<T>): void {
    this.lastStreamId = streamId;
    this.lastPageNo = pageNo;
    this.lastStream = stream;
    this.lastPage = page;
  }

  /** Moves a page's few survivors to `sparse` and drops the page. */
  private dissolve(streamId: number, stream: Stream<T>, pageNo: number, page: Page<T>): void {
    const entries = page.entries;
    for (let slot = 0; slot < PAGE_SIZE; slot++) {
      const entry = entries[slot];
      if (entry !== undefined) this.sparse.set(serialFromParts(streamId, pageNo * PAGE_SIZE + slot), entry);
    }
    stream.pages.delete(pageNo);
    if (this.lastPage === page) {
      this.lastStreamId = -1;
      this.lastPageNo = -1;
      this.lastStream = undefined;
      this.lastPage = undefined;
    }
  }
}
