// The public surface of horde: every name users may import, and nothing else.

export { ErrorCode, HordeError, errorFromWire, errorToWire, isWireError } from './errors.js';
export type { WireError } from './errors.js';

export { Doorbell } from './ring/doorbell.js';
export type { ParkResult } from './ring/doorbell.js';
export {
  DEFAULT_RING_CAPACITY,
  RingReader,
  RingWriter,
  createRing,
  maxPayloadFor,
  recordBytes,
} from './ring/ring.js';
export type { RecordVisitor, RingHandle, RingOptions } from './ring/ring.js';
export { DEFAULT_POLL_BUDGET, DEFAULT_SPIN_CHECKS, InboundRings } from './ring/inbound.js';
export type { InboundVisitor, WaitOptions, WaitResult } from './ring/inbound.js';
