/**
 * Where the library's worker entries live. Workers always load built JavaScript: from dist/ when
 * this module itself runs from dist/ (users, `npm test` after the build), and from the matching
 * dist/ file when it runs from src/ under a TypeScript loader (vitest, tsx), because Node 20
 * cannot start a worker from a .ts file.
 */
export function workerEntry(fromModule: string, relativeJs: string): URL {
  const url = new URL(relativeJs, fromModule);
  if (!fromModule.endsWith('.ts')) return url;
  return new URL(url.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'));
}
