// The layer order of src/, enforced by lint: a module imports only from its own folder and from
// folders of lower layers, so lower layers never learn about higher ones. Folders of one layer do
// not import each other. ARCHITECTURE.md ("Layers") explains each layer.
import { dirname, relative, resolve } from 'node:path';

/** Lowest first. A top-level file of src/ (errors.ts, index.ts, cli.ts) is named without `.ts`. */
export const LAYERS = [
  ['errors'],
  ['internal'],
  ['process'],
  ['codec', 'ring', 'net'],
  ['participant'],
  ['executor', 'poller', 'fileio', 'cluster'],
  ['raft', 'store'],
  ['node'],
  ['gateway', 'testkit'],
  ['loadtest'],
  ['index', 'cli'],
];

const layerOf = new Map(LAYERS.flatMap((folders, layer) => folders.map((folder) => [folder, layer])));

/** The folder of src/ a file belongs to ('errors' for src/errors.ts), or undefined outside src/. */
function unitOf(file, srcRoot) {
  const path = relative(srcRoot, file);
  if (path.startsWith('..')) return undefined;
  const [first, ...rest] = path.split(/[\\/]/);
  return rest.length === 0 ? first.replace(/\.[cm]?[jt]s$/, '') : first;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ imports only point down the layer order (scripts/eslint-layers.js)' },
    schema: [],
    messages: {
      upward: '{{from}} (layer {{fromLayer}}) must not import {{to}} (layer {{toLayer}}): imports point down the layer order in scripts/eslint-layers.js',
      sideways: '{{from}} must not import {{to}}: folders of one layer do not import each other (scripts/eslint-layers.js)',
      unknown: 'src/{{unit}} has no layer: add it to LAYERS in scripts/eslint-layers.js',
    },
  },
  create(context) {
    const file = context.filename;
    const srcRoot = resolve(context.cwd, 'src');
    const from = unitOf(file, srcRoot);
    if (from === undefined) return {};
    const check = (node) => {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = unitOf(resolve(dirname(file), source), srcRoot);
      if (to === undefined || to === from) return;
      const fromLayer = layerOf.get(from);
      const toLayer = layerOf.get(to);
      if (fromLayer === undefined || toLayer === undefined) {
        context.report({ node, messageId: 'unknown', data: { unit: fromLayer === undefined ? from : to } });
      } else if (toLayer > fromLayer) {
        context.report({ node, messageId: 'upward', data: { from, to, fromLayer, toLayer } });
      } else if (toLayer === fromLayer) {
        context.report({ node, messageId: 'sideways', data: { from, to } });
      }
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export const layersPlugin = { rules: { layers: rule } };
