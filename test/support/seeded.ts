/** The testkit's seeded generator (mulberry32), so property tests on both sides of a thread agree and replay. */
export { mulberry32 as seededRandom } from '../../src/testkit/testkit.js';

/** Integer in [min, max]. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
