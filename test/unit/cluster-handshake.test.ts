import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { checkSecret, createChallenge, proveSecret, verifyProof, type ProofContext } from '../../src/cluster/handshake-crypto.js';
import { throwsCode } from '../support/errors.js';

const secret = checkSecret('correct horse battery staple');
const context: ProofContext = { prover: 'b', incarnation: 'inc-1', verifier: 'a' };

describe('handshake challenge-response', () => {
  it('accepts the proof for its own challenge, direction and nodes', () => {
    const challenge = createChallenge();
    expect(verifyProof(secret, challenge, context, proveSecret(secret, challenge, context))).toBe(true);
  });

  it('refuses a wrong secret, a replayed proof, a reflected proof and a changed incarnation', () => {
    const challenge = createChallenge();
    const proof = proveSecret(secret, challenge, context);
    expect(verifyProof(checkSecret('another secret of enough length'), challenge, context, proof)).toBe(false);
    expect(verifyProof(secret, createChallenge(), context, proof)).toBe(false);
    expect(verifyProof(secret, challenge, { prover: 'a', incarnation: 'inc-1', verifier: 'b' }, proof)).toBe(false);
    expect(verifyProof(secret, challenge, { ...context, incarnation: 'inc-2' }, proof)).toBe(false);
  });

  it('refuses malformed proofs and challenges without throwing, and short secrets', () => {
    const challenge = createChallenge();
    expect(verifyProof(secret, challenge, context, new Uint8Array(5))).toBe(false);
    expect(verifyProof(secret, new Uint8Array(3), context, new Uint8Array(32))).toBe(false);
    throwsCode(() => checkSecret('short'), ErrorCode.INVALID_OPTION);
  });

  it('does not confuse field boundaries', () => {
    const challenge = createChallenge();
    const proof = proveSecret(secret, challenge, { prover: 'ab', incarnation: 'c', verifier: 'd' });
    expect(verifyProof(secret, challenge, { prover: 'a', incarnation: 'bc', verifier: 'd' }, proof)).toBe(false);
  });
});
