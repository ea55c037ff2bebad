// Build step: copies every .proto schema under src/ to the same place under dist/, where the
// built modules load them at run time (tsc copies only what it compiles).
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.proto')) continue;
  const from = join(entry.parentPath ?? entry.path, entry.name); // parentPath: Node 20.12+
  cpSync(from, join(root, 'dist', relative(src, from)));
}
