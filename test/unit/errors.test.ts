import { describe, expect, it } from 'vitest';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, HordeError, errorFromWire, errorToWire, invalidOption, isWireError } from '../../src/errors.js';

describe('HordeError across threads', () => {
  it('survives a structured clone as {code, message, cause} and is rebuilt with its code', () => {
    const root = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const error = new HordeError(ErrorCode.TIMEOUT, 'append timed out', { cause: root });
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(errorToWire(error));
    const received = receiveMessageOnPort(port2)?.message as unknown;
    port1.close();
    expect(isWireError(received)).toBe(true);
    const rebuilt = errorFromWire(received as Parameters<typeof errorFromWire>[0]);
    expect(rebuilt).toBeInstanceOf(HordeError);
    expect(rebuilt.code).toBe(ErrorCode.TIMEOUT);
    expect(rebuilt.message).toBe('append timed out');
    expect(rebuilt.stack).toBe(error.stack);
    expect(rebuilt.cause).toBeInstanceOf(HordeError);
    expect((rebuilt.cause as HordeError).code).toBe('ENOSPC');
  });

  it('gives thrown non-errors the UNKNOWN code and a readable message', () => {
    expect(errorToWire('boom')).toEqual({ code: ErrorCode.UNKNOWN, message: 'boom' });
    expect(errorToWire({ a: 1 }).message).toContain('{"a":1}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(errorToWire(cyclic).message).toContain('[object Object]');
  });

  it('bounds the depth of a cause chain', () => {
    let error: Error = new Error('root');
    for (let i = 0; i < 50; i++) error = new Error(`level ${i}`, { cause: error });
    let depth = 0;
    for (let wire = errorToWire(error); wire.cause !== undefined; wire = wire.cause) depth++;
    expect(depth).toBe(8);
  });

  it('names the option in INVALID_OPTION errors', () => {
    expect(() => invalidOption('executors', 'a positive integer', -1)).toThrow(/option "executors" must be a positive integer; got -1/);
    expect(isWireError({ code: 1, message: 'x' })).toBe(false);
  });
});

describe('ErrorCode', () => {
  it('lists every HORDE_ code the sources raise or count, so users can match on each', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const known = new Set<string>(Object.values(ErrorCode));
    const unknown: string[] = [];
    for (const file of files) {
      for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
        // Environment variables share the prefix (HORDE_DEBUG, HORDE_CLOCK_CHECKS): named *_ENV or read from env.
        if (/_ENV\b|env\b/.test(line)) continue;
        for (const match of line.matchAll(/'(HORDE_[A-Z_]+)'/g)) {
          if (!known.has(match[1]!)) unknown.push(`${file}: ${match[1]}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('has every code in the reference (docs/reference.md, Errors)', () => {
    const reference = readFileSync(new URL('../../docs/reference.md', import.meta.url), 'utf8');
    expect(Object.values(ErrorCode).filter((code) => !reference.includes(`| \`${code}\` |`))).toEqual([]);
  });
});
