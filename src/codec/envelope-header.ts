/**
 * Envelopes as bytes, without decoding payloads: reading header fields in place (the cluster
 * server routes, batches and tracks monitors and links from them alone; see envelope.ts for the
 * layout), walking concatenated envelopes (runs, batches), and the rule for a signal whose
 * process is not there.
 */
import { ENVELOPE_HEADER_BYTES, EnvelopeField, NO_SENDER_SERIAL, Signal, envelopeLengthAt, isSignal, type Envelope } from './envelope.js';
import { ErrorCode, HordeError } from '../errors.js';
import { pid, type Pid } from '../process/pid.js';

export interface HeaderView {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

export function headerView(bytes: Uint8Array): HeaderView {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

export function signalAt(bytes: Uint8Array, offset: number): Signal {
  return bytes[offset + EnvelopeField.SIGNAL]! as Signal;
}

export function toNodeAt(bytes: Uint8Array, offset: number): number {
  return bytes[offset + EnvelopeField.TO_NODE]! | (bytes[offset + EnvelopeField.TO_NODE + 1]! << 8);
}

export function shardAt(bytes: Uint8Array, offset: number): number {
  return bytes[offset + EnvelopeField.TO_SHARD]! | (bytes[offset + EnvelopeField.TO_SHARD + 1]! << 8);
}

export function toPidAt(h: HeaderView, offset: number): Pid {
  const v = h.view;
  return pid(v.getUint16(offset + EnvelopeField.TO_NODE, true), v.getUint16(offset + EnvelopeField.TO_SHARD, true), v.getFloat64(offset + EnvelopeField.TO_SERIAL, true));
}

export function fromPidAt(h: HeaderView, offset: number): Pid | undefined {
  const v = h.view;
  const serial = v.getFloat64(offset + EnvelopeField.FROM_SERIAL, true);
  if (serial === NO_SENDER_SERIAL) return undefined;
  return pid(v.getUint16(offset + EnvelopeField.FROM_NODE, true), v.getUint16(offset + EnvelopeField.FROM_SHARD, true), serial);
}

export function refAt(h: HeaderView, offset: number): number {
  return h.view.getFloat64(offset + EnvelopeField.REF, true);
}

/**
 * The one rule for a signal whose target process is not there, on every thread (an executor, the
 * main thread, the cluster server): a MONITOR gets DOWN and a LINK an exit signal, both from the
 * target to the sender, with `reason` ('noproc': the process ended or never existed;
 * 'noconnection': its node cannot be reached). Returns that answer, or undefined when there is
 * none (any other signal, or no sender); see `isDeadLetterWhenMissing` for what is counted.
 */
export function answerToMissing(signal: Signal, to: Pid, from: Pid | undefined, ref: number, reason: 'noproc' | 'noconnection'): Envelope | undefined {
  if (from === undefined) return undefined;
  if (signal === Signal.MONITOR) return { signal: Signal.DOWN, to: from, from: to, ref, payload: reason };
  if (signal === Signal.LINK) return { signal: Signal.EXIT, to: from, from: to, ref: 0, payload: reason };
  return undefined;
}

/**
 * Whether a signal that finds its process missing is a dead letter (counted): everything but
 * the answered MONITOR and LINK (see answerToMissing) and the signals that end or undo
 * something already gone (EXIT, DOWN, UNLINK, DEMONITOR, KILL).
 */
export function isDeadLetterWhenMissing(signal: Signal, from: Pid | undefined): boolean {
  switch (signal) {
    case Signal.MONITOR:
    case Signal.LINK:
      return from === undefined;
    case Signal.EXIT:
    case Signal.DOWN:
    case Signal.UNLINK:
    case Signal.DEMONITOR:
    case Signal.KILL:
      return false;
    default:
      return true;
  }
}

/** `answerToMissing` for the envelope at `offset`, read from its header without decoding its payload. */
export function answerToMissingAt(bytes: Uint8Array, offset: number, reason: 'noproc' | 'noconnection'): Envelope | undefined {
  const signal = signalAt(bytes, offset);
  if (signal !== Signal.MONITOR && signal !== Signal.LINK) return undefined;
  const h = headerView(bytes);
  return answerToMissing(signal, toPidAt(h, offset), fromPidAt(h, offset), refAt(h, offset), reason);
}

/** `isDeadLetterWhenMissing` for the envelope at `offset`, read from its header. */
export function isDeadLetterWhenMissingAt(bytes: Uint8Array, offset: number): boolean {
  const signal = signalAt(bytes, offset);
  if (signal !== Signal.MONITOR && signal !== Signal.LINK) return isDeadLetterWhenMissing(signal, undefined);
  return fromPidAt(headerView(bytes), offset) === undefined;
}

/** Called by `walkEnvelopes` for each envelope: bytes[offset, offset + length). */
export type EnvelopeVisitor = (bytes: Uint8Array, offset: number, length: number) => void;

/**
 * The walker of concatenated envelopes (a run record, a cluster batch): calls `visit` for each
 * whole envelope in bytes[offset, end) and returns where it stopped: `end`, or the offset of an
 * envelope that is cut short or runs past `end` (see envelopeLengthAt).
 */
export function walkEnvelopes(bytes: Uint8Array, offset: number, end: number, visit: EnvelopeVisitor): number {
  let at = offset;
  while (at < end) {
    const length = envelopeLengthAt(bytes, at, end);
    if (length < 0) break;
    visit(bytes, at, length);
    at += length;
  }
  return at;
}

/**
 * Walks the envelopes of untrusted `data` (a peer's batch), calling `visit(offset, length)` for
 * each. Throws HORDE_MALFORMED_FRAME when an envelope's header is cut short, its signal is
 * unknown or its body runs past the end: a batch is accepted whole or not at all (callers check
 * before delivering).
 */
export function forEachEnvelope(data: Uint8Array, visit: (offset: number, length: number) => void): void {
  const stop = walkEnvelopes(data, 0, data.length, (bytes, at, length) => {
    if (!isSignal(bytes[at + EnvelopeField.SIGNAL])) throw malformed(`unknown signal ${bytes[at + EnvelopeField.SIGNAL]}`);
    visit(at, length);
  });
  if (stop === data.length) return;
  const left = data.length - stop;
  throw malformed(left < ENVELOPE_HEADER_BYTES ? `a ${left}-byte envelope header is cut short` : 'an envelope body runs past the end of its batch');
}

/** Number of envelopes in `data` (which came from our own rings, so is well formed). */
export function countEnvelopes(data: Uint8Array): number {
  let count = 0;
  walkEnvelopes(data, 0, data.length, () => {
    count++;
  });
  return count;
}

function malformed(message: string): HordeError {
  return new HordeError(ErrorCode.MALFORMED_FRAME, message);
}
