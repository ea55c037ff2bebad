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
 * Dormant processes: spawning is bound by garbage collection (every object of a new process
 * survives the young generation and is copied twice), so a process that nothing has touched since
 * it was spawned (no init, no link, no message, no signal yet) is kept as just its kind and its
 * process object, side by side in its page (`setDormant`). Its record (`T`, the shard's Slot) is
 * made by `wake` the first time anything looks it up with `get` or `all`; `has`, `size` and
 * `values` (records only) never wake anyone.
 *
 * Memory stays bounded when processes are mostly short-lived: a page that is no longer its
 * stream's newest and holds SPARSE_AT processes or fewer is dissolved, its survivors (woken)
 * moving to one Map keyed by serial (`sparse`). A serial whose page is older than its stream's
 * newest and gone lives in `sparse`, so a range never has both a page and sparse entries. Per page
 * that exists the cost is two arrays of PAGE_SIZE pointers (4 KiB); per stream (allocator ever
 * seen) a small record, kept.
 */
import { serialFromParts, serialIndex, serialStream } from '../process/pid.js';

/** Indexes of one stream per page. */
const PAGE_BITS = 8;
const PAGE_SIZE = 1 << PAGE_BITS;
/** A page that is not its stream's newest is dissolved into `sparse` at this many processes. */
const SPARSE_AT = 16;

function pageOf(index: number): number {
  return index <= 0x7fffffff ? index >> PAGE_BITS : Math.floor(index / PAGE_SIZE);
}

class Page {
  /** A record, or (when `kinds` has the same index set) a dormant process's process object. */
  readonly entries: unknown[] = new Array<unknown>(PAGE_SIZE).fill(undefined);
  /** The kind of a dormant process; undefined for a record or a free index. */
  readonly kinds: (string | undefined)[] = new Array<string | undefined>(PAGE_SIZE).fill(undefined);
  live = 0;
}

class Stream {
  readonly pages = new Map<number, Page>();
  /** The highest page number created (it always exists), or -1. */
  newest = -1;
}

/** Makes the record of a dormant process. */
export type Wake<T> = (serial: number, kind: string, process: unknown) => T;

export class ProcessTable<T> {
  private readonly wake: Wake<T>;
  private readonly streams = new Map<number, Stream>();
  private readonly sparse = new Map<number, T>();
  private count = 0;
  // The page of the last lookup (spawns and most deliveries hit the same page again).
  private lastStreamId = -1;
  private lastPageNo = -1;
  private lastStream: Stream | undefined;
  private lastPage: Page | undefined;

  constructor(wake: Wake<T>) {
    this.wake = wake;
  }

  /** Processes, dormant or not. */
  get size(): number {
    return this.count;
  }

  /** The record of `serial`, waking it if it is dormant. */
  get(serial: number): T | undefined {
    const index = serialIndex(serial);
    const pageNo = pageOf(index);
    const page = this.page(serialStream(serial), pageNo);
    if (page === undefined) return this.sparse.size === 0 ? undefined : this.sparse.get(serial);
    const slot = index - pageNo * PAGE_SIZE;
    const kind = page.kinds[slot];
    if (kind === undefined) return page.entries[slot] as T | undefined;
    const record = this.wake(serial, kind, page.entries[slot]);
    page.entries[slot] = record;
    page.kinds[slot] = undefined;
    return record;
  }

  /** Whether `serial` is here (dormant or not); wakes no one. */
  has(serial: number): boolean {
    const index = serialIndex(serial);
    const pageNo = pageOf(index);
    const page = this.page(serialStream(serial), pageNo);
    if (page === undefined) return this.sparse.size !== 0 && this.sparse.has(serial);
    return page.entries[index - pageNo * PAGE_SIZE] !== undefined;
  }

  /** The record of `serial` if it has one (is not dormant); wakes no one. */
  peek(serial: number): T | undefined {
    const index = serialIndex(serial);
    const pageNo = pageOf(index);
    const page = this.page(serialStream(serial), pageNo);
    if (page === undefined) return this.sparse.size === 0 ? undefined : this.sparse.get(serial);
    const slot = index - pageNo * PAGE_SIZE;
    return page.kinds[slot] === undefined ? (page.entries[slot] as T | undefined) : undefined;
  }

  set(serial: number, record: T): void {
    this.put(serial, record, undefined);
  }

  /** A process nothing has touched yet: kept as its kind and process until `get` wakes it. */
  setDormant(serial: number, kind: string, process: unknown): void {
    this.put(serial, process, kind);
  }

  delete(serial: number): boolean {
    const streamId = serialStream(serial);
    const index = serialIndex(serial);
    const pageNo = pageOf(index);
    const page = this.page(streamId, pageNo);
    if (page === undefined) {
      if (!this.sparse.delete(serial)) return false;
      this.count--;
      return true;
    }
    const slot = index - pageNo * PAGE_SIZE;
    if (page.entries[slot] === undefined) return false;
    page.entries[slot] = undefined;
    page.kinds[slot] = undefined;
    page.live--;
    this.count--;
    const stream = this.lastStream!;
    if (pageNo !== stream.newest && page.live <= SPARSE_AT) this.dissolve(streamId, stream, pageNo, page);
    return true;
  }

  /** Every record; dormant processes are skipped (they have no messages, links or monitors). */
  *values(): IterableIterator<T> {
    for (const stream of this.streams.values()) {
      for (const page of stream.pages.values()) {
        const { entries, kinds } = page;
        for (let slot = 0; slot < PAGE_SIZE; slot++) {
          if (entries[slot] !== undefined && kinds[slot] === undefined) yield entries[slot] as T;
        }
      }
    }
    yield* this.sparse.values();
  }

  /** The records of every process, waking the dormant ones (such as to stop them all). */
  all(): T[] {
    const records: T[] = [];
    for (const [streamId, stream] of this.streams) {
      for (const [pageNo, page] of stream.pages) {
        for (let slot = 0; slot < PAGE_SIZE; slot++) {
          if (page.entries[slot] !== undefined) records.push(this.wakeAt(streamId, pageNo, page, slot));
        }
      }
    }
    for (const record of this.sparse.values()) records.push(record);
    return records;
  }

  private put(serial: number, entry: unknown, kind: string | undefined): void {
    const streamId = serialStream(serial);
    const index = serialIndex(serial);
    const pageNo = pageOf(index);
    let page = this.page(streamId, pageNo);
    if (page === undefined) {
      let stream = this.streams.get(streamId);
      if (stream === undefined) {
        stream = new Stream();
        this.streams.set(streamId, stream);
      }
      if (pageNo < stream.newest) {
        // An older range whose page is gone (or never was): it lives in `sparse`, awake.
        if (!this.sparse.has(serial)) this.count++;
        this.sparse.set(serial, kind === undefined ? (entry as T) : this.wake(serial, kind, entry));
        return;
      }
      page = new Page();
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
    page.entries[slot] = entry;
    page.kinds[slot] = kind;
  }

  private wakeAt(streamId: number, pageNo: number, page: Page, slot: number): T {
    const kind = page.kinds[slot];
    if (kind === undefined) return page.entries[slot] as T;
    const record = this.wake(serialFromParts(streamId, pageNo * PAGE_SIZE + slot), kind, page.entries[slot]);
    page.entries[slot] = record;
    page.kinds[slot] = undefined;
    return record;
  }

  /** The page of (stream, pageNo), if it exists; found pages become the cached one. */
  private page(streamId: number, pageNo: number): Page | undefined {
    if (streamId === this.lastStreamId && pageNo === this.lastPageNo) return this.lastPage;
    const stream = this.streams.get(streamId);
    if (stream === undefined) return undefined;
    const page = stream.pages.get(pageNo);
    if (page !== undefined) this.remember(streamId, pageNo, stream, page);
    return page;
  }

  private remember(streamId: number, pageNo: number, stream: Stream, page: Page): void {
    this.lastStreamId = streamId;
    this.lastPageNo = pageNo;
    this.lastStream = stream;
    this.lastPage = page;
  }

  /** Moves a page's few survivors (woken) to `sparse` and drops the page. */
  private dissolve(streamId: number, stream: Stream, pageNo: number, page: Page): void {
    for (let slot = 0; slot < PAGE_SIZE; slot++) {
      if (page.entries[slot] !== undefined) {
        this.sparse.set(serialFromParts(streamId, pageNo * PAGE_SIZE + slot), this.wakeAt(streamId, pageNo, page, slot));
      }
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
