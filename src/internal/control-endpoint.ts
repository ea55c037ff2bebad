/**
 * comlink endpoints over a node MessagePort for the executor control plane (see
 * src/executor/protocol.ts for why the executor side is pumped by hand).
 *
 * - `pumpedEndpoint(port)`: the executor side. The port gets no 'message' listener (which would
 *   need the event loop the parked executor is not running); `pump()` drains it with
 *   receiveMessageOnPort and hands each message to comlink.
 * - `notifyingEndpoint(port, notify)`: the main-thread side. After each post it calls `notify`,
 *   which bumps the executor's control sequence and rings its doorbell.
 */
import type { Endpoint } from 'comlink';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

type Listener = Parameters<Endpoint['addEventListener']>[1];

/** Calls a DOM-style listener (a function or an object with handleEvent) with `{ data }`. */
function deliver(listener: unknown, data: unknown): void {
  const event = { data };
  if (typeof listener === 'function') (listener as (event: { data: unknown }) => void)(event);
  else (listener as { handleEvent(event: { data: unknown }): void }).handleEvent(event);
}

function post(port: MessagePort, message: unknown, transfer: unknown): void {
  port.postMessage(message, (transfer ?? []) as Parameters<MessagePort['postMessage']>[1]);
}

export function pumpedEndpoint(port: MessagePort): { endpoint: Endpoint; pump: () => void } {
  const listeners = new Set<Listener>();
  const endpoint: Endpoint = {
    postMessage: (message, transfer) => post(port, message, transfer),
    addEventListener: (_type, listener) => listeners.add(listener),
    removeEventListener: (_type, listener) => listeners.delete(listener),
  };
  const pump = (): void => {
    for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
      for (const listener of listeners) deliver(listener, entry.message);
    }
  };
  return { endpoint, pump };
}

export function notifyingEndpoint(port: MessagePort, notify: () => void): Endpoint {
  const forwards = new Map<Listener, (data: unknown) => void>();
  return {
    postMessage: (message, transfer) => {
      post(port, message, transfer);
      notify();
    },
    addEventListener: (_type, listener) => {
      const forward = (data: unknown): void => deliver(listener, data);
      forwards.set(listener, forward);
      port.on('message', forward);
    },
    removeEventListener: (_type, listener) => {
      const forward = forwards.get(listener);
      if (forward !== undefined) port.off('message', forward);
      forwards.delete(listener);
    },
  };
}

/** A plain endpoint for a worker that lives on its event loop (the file worker). */
export function portEndpoint(port: MessagePort): Endpoint {
  return notifyingEndpoint(port, () => undefined);
}
