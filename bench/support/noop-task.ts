// piscina task for `npm run bench -- ring` (system `piscina`): does nothing but hand back its
// argument, so the caller can check that every task ran exactly once. piscina's worker loads this
// .ts file through the `--import tsx` it inherits from the benchmark process.
export default function noop(seq: number): number {
  return seq;
}
