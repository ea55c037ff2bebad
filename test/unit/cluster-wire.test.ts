// The hand-written Batch and Ack frames are the same protobuf bytes protobufjs makes, and read back alike.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, decodeFrameWithProtobufjs, encodeAckFrame, encodeBatchFrame, encodeFrame } from '../../src/cluster/wire.js';

const seqs = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

describe('the hot-path frames', () => {
  it('encode Batch as protobuf that protobufjs reads alike, and decode what protobufjs writes', () => {
    fc.assert(
      fc.property(seqs, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), fc.oneof(fc.constant(0), seqs), fc.integer({ min: 0, max: 1 }), (seq, data, last, ack, lane) => {
        const framed = encodeBatchFrame(seq, data, last, ack, lane);
        const body = framed.subarray(4);
        expect(framed.readUInt32BE(0)).toBe(body.length);
        const viaProtobufjs = decodeFrameWithProtobufjs(body) as { data: Uint8Array };
        expect(viaProtobufjs).toMatchObject({ kind: 'batch', seq, last, ack, lane });
        expect(Buffer.from(viaProtobufjs.data).equals(Buffer.from(data))).toBe(true);
        const written = decodeFrame(encodeFrame({ kind: 'batch', seq, data, last, ack, lane })) as { data: Uint8Array };
        expect(written).toMatchObject({ kind: 'batch', seq, last, ack, lane });
        expect(Buffer.from(written.data).equals(Buffer.from(data))).toBe(true);
        const decoded = decodeFrame(body);
        expect(decoded).toEqual({ kind: 'batch', seq, data: expect.any(Uint8Array) as Uint8Array, last, ack, lane });
        expect(Buffer.from((decoded as { data: Uint8Array }).data).equals(Buffer.from(data))).toBe(true);
      }),
    );
  });

  it('encode Ack exactly as protobufjs does and decode it back', () => {
    fc.assert(
      fc.property(seqs, fc.integer({ min: 0, max: 1 }), (seq, lane) => {
        const body = encodeAckFrame(seq, lane).subarray(4);
        expect(Buffer.from(body).equals(Buffer.from(encodeFrame({ kind: 'ack', seq, lane })))).toBe(true);
        expect(decodeFrame(body)).toEqual({ kind: 'ack', seq, lane });
      }),
    );
  });

  it('hands anything else to protobufjs, which refuses garbage with a stable code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('HORDE_MALFORMED_FRAME');
        }
      }),
    );
  });
});
