/**
 * TraceHash: a running FNV-1a hash (two 32-bit lanes, 64 bits in all) of the events of a simulated
 * run. Two runs that hash alike took the same events in the same order at the same times; a test
 * asserts a seed's hash to show that it replays event for event. An event is folded in part by
 * part (numbers as their 64-bit float bits, text char by char, values by their structure) and
 * closed with `end`, so hashing builds no text.
 */

const FNV_PRIME = 0x01000193;
/** Scratch for a number's bits. */
const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);

/** Type tags of `value`, so 1 and "1", [] and {} differ. */
const Tag = { UNDEFINED: 1, NULL: 2, FALSE: 3, TRUE: 4, NUMBER: 5, STRING: 6, BIGINT: 7, SYMBOL: 8, FUNCTION: 9, ARRAY: 10, OBJECT: 11, BYTES: 12, DATE: 13, MAP: 14, SET: 15, CYCLE: 16, END: 17 } as const;

/** A running 64-bit hash of a run's events. */
export class TraceHash {
  private low = 0x811c9dc5;
  private high = 0xcbf29ce4;
  /** Events hashed so far. */
  events = 0;
  /** The objects `value` is inside of (to see a cycle); empty between calls. */
  private readonly path: object[] = [];

  /** Adds one event, described by its text. */
  add(text: string): void {
    this.text(text);
    this.end();
  }

  /** Adds one event of the scheduler: its time, its owner (or none), its label and a number that goes with it. */
  addEvent(at: number, owner: string | undefined, label: string, detail = 0): void {
    this.number(at);
    if (owner === undefined) this.code(0x2d);
    else this.text(owner);
    this.text(label);
    this.number(detail);
    this.end();
  }

  /** Folds one 32-bit code (a char, a small integer, a tag) into the event being hashed. */
  code(code: number): void {
    this.low = Math.imul(this.low ^ code, FNV_PRIME);
    this.high = Math.imul(this.high ^ (code + 0x9e), FNV_PRIME) ^ (this.low >>> 7);
  }

  /** Folds a number (its 64-bit float bits) into the event being hashed. */
  number(value: number): void {
    float[0] = value;
    this.code(words[0]!);
    this.code(words[1]!);
  }

  /** Folds text into the event being hashed. */
  text(text: string): void {
    this.code(text.length);
    // As `code` char by char, with the lanes in locals.
    let low = this.low;
    let high = this.high;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      low = Math.imul(low ^ code, FNV_PRIME);
      high = Math.imul(high ^ (code + 0x9e), FNV_PRIME) ^ (low >>> 7);
    }
    this.low = low;
    this.high = high;
  }

  /**
   * Folds a value into the event being hashed, by its structure: primitives, arrays, byte views,
   * dates, maps, sets and objects' own enumerable properties (with the constructor's name); a
   * cycle folds in as a tag. Values that look alike to JSON differ here too (a Map's entries count).
   */
  value(value: unknown): void {
    this.path.length = 0;
    this.walk(value, this.path);
  }

  /** Closes the event being hashed: "ab"+"c" and "a"+"bc" differ. */
  end(): void {
    this.low = Math.imul(this.low ^ 0x2c, FNV_PRIME) >>> 0;
    this.high = (this.high ^ (this.low >>> 3)) >>> 0;
    this.events++;
  }

  /** The hash so far, as 16 hexadecimal digits. */
  hex(): string {
    return (this.high >>> 0).toString(16).padStart(8, '0') + (this.low >>> 0).toString(16).padStart(8, '0');
  }

  private walk(value: unknown, path: object[]): void {
    switch (typeof value) {
      case 'undefined':
        this.code(Tag.UNDEFINED);
        return;
      case 'boolean':
        this.code(value ? Tag.TRUE : Tag.FALSE);
        return;
      case 'number':
        this.code(Tag.NUMBER);
        this.number(value);
        return;
      case 'string':
        this.code(Tag.STRING);
        this.text(value);
        return;
      case 'bigint':
        this.code(Tag.BIGINT);
        this.text(value.toString(16));
        return;
      case 'symbol':
        this.code(Tag.SYMBOL);
        this.text(value.description ?? '');
        return;
      case 'function':
        this.code(Tag.FUNCTION);
        this.text(value.name);
        return;
    }
    if (value === null) {
      this.code(Tag.NULL);
      return;
    }
    const object = value as object;
    if (path.includes(object)) {
      this.code(Tag.CYCLE);
      return;
    }
    path.push(object);
    this.walkObject(object, path);
    path.pop();
  }

  private walkObject(object: object, path: object[]): void {
    if (Array.isArray(object)) {
      this.code(Tag.ARRAY);
      this.code(object.length);
      for (const item of object) this.walk(item, path);
    } else if (ArrayBuffer.isView(object)) {
      this.code(Tag.BYTES);
      const bytes = new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
      this.code(bytes.length);
      for (let i = 0; i < bytes.length; i++) this.code(bytes[i]!);
    } else if (object instanceof Date) {
      this.code(Tag.DATE);
      this.number(object.getTime());
    } else if (object instanceof Map) {
      this.code(Tag.MAP);
      this.code(object.size);
      for (const [key, item] of object) {
        this.walk(key, path);
        this.walk(item, path);
      }
    } else if (object instanceof Set) {
      this.code(Tag.SET);
      this.code(object.size);
      for (const item of object) this.walk(item, path);
    } else {
      this.code(Tag.OBJECT);
      const constructor = (object as { constructor?: { name?: unknown } }).constructor;
      if (constructor !== Object && typeof constructor?.name === 'string') this.text(constructor.name);
      for (const key in object) {
        if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
        this.text(key);
        this.walk((object as Record<string, unknown>)[key], path);
      }
    }
    this.code(Tag.END);
  }
}
