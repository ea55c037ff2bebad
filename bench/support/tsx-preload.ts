/**
 * A `preload` module for horde's executor workers that registers tsx's loader in each of them, so
 * they can load a behaviour module written in TypeScript (Node 20 cannot import .ts by itself, and
 * `--import tsx` on the process does not reach worker threads). A data: URL, like the bootstrap in
 * workers.ts, so there is no loose .mjs file; tsx is resolved here, in the parent, because a data:
 * URL can import absolute URLs but cannot resolve bare specifiers.
 */
export const TSX_PRELOAD = new URL(
  `data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\nregister();\n`)}`,
);
