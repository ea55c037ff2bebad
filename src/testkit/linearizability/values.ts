/**
 * How the shipped models compare and name stored values: as JSON text, so a value read back
 * through a codec (a fresh object, equal in content) still equals the one written. `undefined`
 * (an absent key) is its own value. Object keys compare in their order, as JSON writes them.
 */

/** A value's text: its JSON, or 'undefined'. */
export function valueKey(value: unknown): string {
  return value === undefined ? 'undefined' : String(JSON.stringify(value));
}

/** Whether two values are the same value (identical, or equal as JSON). */
export function sameValue(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || (typeof a === 'object' && typeof b === 'object' && valueKey(a) === valueKey(b));
}
