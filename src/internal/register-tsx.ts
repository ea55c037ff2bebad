/**
 * Registers tsx's loader hooks in the worker thread that imports this module. Node 20 does not
 * carry the hooks the main thread registered (`tsx main.ts`, `node --import tsx`) into worker
 * threads, so the node puts this module first in the preload list of every worker that loads user
 * modules (see typescript-loader.ts). Its `api` query parameter is the file URL of the tsx/esm/api
 * module the main thread resolved, so every thread uses the application's tsx.
 */
import { ErrorCode, HordeError } from '../errors.js';

const api = new URL(import.meta.url).searchParams.get('api');
if (api === null) throw new HordeError(ErrorCode.TYPESCRIPT_LOADER, `${import.meta.url} names no tsx API (its "api" query parameter)`);
const loaded = (await import(api)) as { register?: unknown };
if (typeof loaded.register !== 'function') {
  throw new HordeError(ErrorCode.TYPESCRIPT_LOADER, `${api} exports no register(): horde needs tsx 4 or later (npm install --save-dev tsx@4)`);
}
(loaded.register as () => unknown)();
