// The one rule for a signal whose process is not there (src/codec/envelope-header.ts), signal by
// signal, from the object form and from envelope bytes.
import { describe, expect, it } from 'vitest';
import { Signal, encodeEnvelopeToBytes, type Envelope } from '../../src/codec/envelope.js';
import { answerToMissing, answerToMissingAt, isDeadLetterWhenMissing, isDeadLetterWhenMissingAt } from '../../src/codec/envelope-header.js';
import { pid } from '../../src/process/pid.js';

const target = pid(2, 7, 640);
const sender = pid(1, 0, 64);

describe('the answer to a signal for a missing process', () => {
  it('answers MONITOR with DOWN and LINK with an exit signal, from the missing pid to the sender, with the reason', () => {
    for (const reason of ['noproc', 'noconnection'] as const) {
      expect(answerToMissing(Signal.MONITOR, target, sender, 9, reason)).toEqual({ signal: Signal.DOWN, to: sender, from: target, ref: 9, payload: reason });
      expect(answerToMissing(Signal.LINK, target, sender, 0, reason)).toEqual({ signal: Signal.EXIT, to: sender, from: target, ref: 0, payload: reason });
    }
  });

  it('answers nothing else, and counts as dead letters all but the answered and the ending or undoing signals', () => {
    const quiet: Signal[] = [Signal.EXIT, Signal.DOWN, Signal.UNLINK, Signal.DEMONITOR, Signal.KILL];
    for (const signal of Object.values(Signal)) {
      const answered = signal === Signal.MONITOR || signal === Signal.LINK;
      if (!answered) expect(answerToMissing(signal, target, sender, 3, 'noproc')).toBeUndefined();
      expect(isDeadLetterWhenMissing(signal, sender)).toBe(!answered && !quiet.includes(signal));
      // Without a sender nobody can be answered: a MONITOR or LINK is then a dead letter too.
      expect(answerToMissing(signal, target, undefined, 3, 'noproc')).toBeUndefined();
      expect(isDeadLetterWhenMissing(signal, undefined)).toBe(!quiet.includes(signal));
    }
  });

  it('reads the same answer from envelope bytes without decoding the payload', () => {
    for (const signal of Object.values(Signal)) {
      const envelope: Envelope = { signal, to: target, from: sender, ref: 5, payload: null };
      const bytes = encodeEnvelopeToBytes(envelope);
      const padded = new Uint8Array(bytes.length + 8);
      padded.set(bytes, 8);
      expect(answerToMissingAt(padded, 8, 'noconnection')).toEqual(answerToMissing(signal, target, sender, 5, 'noconnection'));
      expect(isDeadLetterWhenMissingAt(padded, 8)).toBe(isDeadLetterWhenMissing(signal, sender));
    }
  });
});
