/**
 * Reading envelope headers in place, without decoding payloads: the cluster server routes,
 * batches and tracks monitors and links from these fields alone (see src/codec/envelope.ts for
 * the layout).
 */
import { ENVELOPE_HEADER_BYTES, EnvelopeField, NO_SENDER_SERIAL, Signal, isSignal, type Envelope } from '../codec/envelope.js';
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
 * The answer to an envelope that cannot reach its node, for its sender: a MONITOR gets DOWN and a
 * LINK an exit signal, both with reason 'noconnection'; anything else (or no sender) none.
 */
export function noconnectionAnswer(bytes: Uint8Array, offset: number): Envelope | undefined {
  const signal = signalAt(bytes, offset);
  if (signal !== Signal.MONITOR && signal !== Signal.LINK) return undefined;
  const h = headerView(bytes);
  const from = fromPidAt(h, offset);
  if (from === undefined) return undefined;
  const to = toPidAt(h, offset);
  if (signal === Signal.MONITOR) return { signal: Signal.DOWN, to: from, from: to, ref: refAt(h, offset), payload: 'noconnection' };
  return { signal: Signal.EXIT, to: from, from: to, ref: 0, payload: 'noconnection' };
}

/**
 * Walks the envelopes concatenated in `data`, calling `visit(offset, length)` for each. Throws
 * HORDE_MALFORMED_FRAME when an envelope's header is cut short, its signal is unknown or its body
 * runs past the end: a batch is accepted whole or not at all (callers check before delivering).
 */
export function forEachEnvelope(data: Uint8Array, visit: (offset: number, length: number) => void): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  while (offset < data.length) {
    if (data.length - offset < ENVELOPE_HEADER_BYTES) throw malformed(`a ${data.length - offset}-byte envelope header is cut short`);
    const length = ENVELOPE_HEADER_BYTES + view.getUint32(offset + EnvelopeField.BODY_LENGTH, true);
    if (offset + length > data.length) throw malformed('an envelope body runs past the end of its batch');
    if (!isSignal(data[offset + EnvelopeField.SIGNAL])) throw malformed(`unknown signal ${data[offset + EnvelopeField.SIGNAL]}`);
    visit(offset, length);
    offset += length;
  }
}

/** Number of envelopes in `data` (which came from our own rings, so is well formed). */
export function countEnvelopes(data: Uint8Array): number {
  let count = 0;
  forEachEnvelope(data, () => {
    count++;
  });
  return count;
}

function malformed(message: string): HordeError {
  return new HordeError(ErrorCode.MALFORMED_FRAME, message);
}
