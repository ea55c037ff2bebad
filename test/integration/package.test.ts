// The package as users get it: the built entry behind the exports map, and the `horde` bin.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('built package', () => {
  it('exposes the public surface through the exports map (built dist/)', () => {
    const script = `
      import * as horde from 'horde';
      const ring = horde.createRing({ capacity: 64 });
      const writer = new horde.RingWriter(ring);
      const reader = new horde.RingReader(ring);
      writer.tryWrite(3, new Uint8Array([1, 2, 3]));
      let seen = '';
      reader.drain((kind, bytes, offset, length) => { seen = kind + ':' + bytes.subarray(offset, offset + length).join(','); });
      let code = '';
      try { writer.tryWrite(1, new Uint8Array(100)); } catch (error) { code = error.code; }
      console.log(JSON.stringify({ seen, code, names: Object.keys(horde).sort() }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const result = JSON.parse(output) as { seen: string; code: string; names: string[] };
    expect(result.seen).toBe('3:1,2,3');
    expect(result.code).toBe('HORDE_RECORD_TOO_LARGE');
    expect(result.names).toContain('HordeError');
    expect(result.names).toContain('InboundRings');
  });

  it('runs the horde bin and refuses unknown commands with exit code 2', () => {
    const version = spawnSync(process.execPath, ['dist/cli.js', 'version'], { cwd: root, encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = spawnSync(process.execPath, ['dist/cli.js', 'frobnicate'], { cwd: root, encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});
