/**
 * The set of operations linearized so far, one bit per operation of a part, as the search's memo
 * needs it: set and clear in O(1), and an exact string key (16 bits a character) for the memo, so
 * two different sets never share a key. A key costs n/16 characters for n operations.
 */
export class Bitset {
  private readonly words: Uint16Array;

  constructor(size: number) {
    this.words = new Uint16Array(Math.ceil(size / 16));
  }

  set(index: number): void {
    this.words[index >>> 4]! |= 1 << (index & 15);
  }

  clear(index: number): void {
    this.words[index >>> 4]! &= ~(1 << (index & 15));
  }

  /** The set as a string, exact: equal sets, equal keys, and only they. */
  key(): string {
    let key = '';
    for (const word of this.words) key += String.fromCharCode(word);
    return key;
  }
}
