// Removes dist/ before `npm pack` / `npm publish` rebuild it (the prepack script), so no module
// built from a source that no longer exists is shipped.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'), { recursive: true, force: true });
