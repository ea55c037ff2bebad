// The gateways running in front of each node, for its `/metrics` (a gateway attaches itself when it listens and detaches when it closes).
import type { GatewayFigures } from './metrics-snapshot.js';

/** What `/metrics` reads from a gateway. */
export interface GatewaySource {
  readonly address: { host: string; port: number };
  status(): GatewayFigures;
}

const byNode = new WeakMap<object, Set<GatewaySource>>();

/** Attaches `gateway` to `node`'s metrics; returns the detach. */
export function attachGateway(node: object, gateway: GatewaySource): () => void {
  let gateways = byNode.get(node);
  if (gateways === undefined) {
    gateways = new Set();
    byNode.set(node, gateways);
  }
  gateways.add(gateway);
  return () => gateways.delete(gateway);
}

/** The gateways attached to `node` now. */
export function gatewaysOf(node: object): GatewaySource[] {
  return [...(byNode.get(node) ?? [])];
}
