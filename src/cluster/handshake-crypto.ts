/**
 * The cryptography of the cluster handshake: HMAC-SHA256 challenge-response over a shared secret
 * that never travels. Each side sends a fresh random challenge; the other answers with
 * HMAC(secret, label | challenge | its own node name | its incarnation | the peer's name), so an
 * answer proves knowledge of the secret for this challenge, this direction and these two nodes
 * only: replaying it on another connection, or reflecting a challenge back at its sender, fails.
 * Proofs are compared with crypto.timingSafeEqual after a length check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { systemEntropy, type Entropy } from '../internal/host.js';
import { ErrorCode, HordeError } from '../errors.js';

export const CHALLENGE_BYTES = 32;
export const PROOF_BYTES = 32;
const LABEL = 'horde-handshake-v1';
const MIN_SECRET_BYTES = 16;

export interface ProofContext {
  /** The node that answers (proves). */
  prover: string;
  /** Its incarnation id (random per start). */
  incarnation: string;
  /** The node that asked (sent the challenge). */
  verifier: string;
}

export function createChallenge(entropy: Entropy = systemEntropy): Uint8Array {
  return entropy(CHALLENGE_BYTES);
}

/** Refuses secrets too short to be worth anything. */
export function checkSecret(secret: Uint8Array | string): Uint8Array {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `option "secret" must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

export function proveSecret(secret: Uint8Array, challenge: Uint8Array, context: ProofContext): Uint8Array {
  const hmac = createHmac('sha256', secret);
  hmac.update(LABEL);
  hmac.update(challenge);
  // Length-prefixed fields, so no two different contexts serialize alike.
  for (const field of [context.prover, context.incarnation, context.verifier]) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hmac.update(length);
    hmac.update(bytes);
  }
  return new Uint8Array(hmac.digest());
}

/** True when `proof` answers `challenge` for `context` under `secret`; never throws on bad input. */
export function verifyProof(secret: Uint8Array, challenge: Uint8Array, context: ProofContext, proof: Uint8Array): boolean {
  if (proof.length !== PROOF_BYTES || challenge.length !== CHALLENGE_BYTES) return false;
  return timingSafeEqual(proveSecret(secret, challenge, context), proof);
}
