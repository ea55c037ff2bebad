/**
 * ProcessTable: a shard's processes by pid serial.
 *
 * Serials are `counter * SPAWNER_SPACE + spawnerId` (pid.ts), so they leave V8's small-integer
 * range after 32,768 spawns per spawner; a Map keyed by such heap numbers hashes a double on every
 * lookup, which made the table a third of the cost of a spawn. Two levels keep every key small:
 * one map per spawner (few of them; the last one used is cached), keyed by the counter.
 */
import { SPAWNER_SPACE } from '../process/pid.js';

export class ProcessTable<T> {
  private readonly bySpawner = new Map<number, Map<number, T>>();
  private lastSpawner = -1;
  private lastMap: Map<number, T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(serial: number): T | undefined {
    return this.inner(serial % SPAWNER_SPACE, false)?.get(Math.floor(serial / SPAWNER_SPACE));
  }

  has(serial: number): boolean {
    return this.get(serial) !== undefined;
  }

  set(serial: number, value: T): void {
    const inner = this.inner(serial % SPAWNER_SPACE, true)!;
    const counter = Math.floor(serial / SPAWNER_SPACE);
    if (!inner.has(counter)) this.count++;
    inner.set(counter, value);
  }

  delete(serial: number): boolean {
    const spawner = serial % SPAWNER_SPACE;
    const inner = this.inner(spawner, false);
    if (inner === undefined || !inner.delete(Math.floor(serial / SPAWNER_SPACE))) return false;
    this.count--;
    if (inner.size === 0) {
      this.bySpawner.delete(spawner);
      if (this.lastSpawner === spawner) {
        this.lastSpawner = -1;
        this.lastMap = undefined;
      }
    }
    return true;
  }

  *values(): IterableIterator<T> {
    for (const inner of this.bySpawner.values()) yield* inner.values();
  }

  private inner(spawner: number, create: boolean): Map<number, T> | undefined {
    if (spawner === this.lastSpawner) return this.lastMap;
    let inner = this.bySpawner.get(spawner);
    if (inner === undefined) {
      if (!create) return undefined;
      inner = new Map();
      this.bySpawner.set(spawner, inner);
    }
    this.lastSpawner = spawner;
    this.lastMap = inner;
    return inner;
  }
}
