/**
 * The production transport: TCP over node:net, or mutual TLS over node:tls when given a key,
 * certificate and CA. Streams are the sockets themselves (a `net.Socket` is a ByteStream as it
 * is), with Nagle's algorithm off: a frame goes out when it is written. Names resolve through DNS
 * (every address of the name).
 */
import { lookup } from 'node:dns/promises';
import { connect as netConnect, createServer, isIP, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { ByteStream, ListenEvents, Listener, Transport, TransportAddress } from './transport.js';

/** Mutual TLS: this node's key and certificate, and the CA that signed every node's certificate. */
export interface TransportTls {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

export function tcpTransport(tls?: TransportTls): Transport {
  return {
    async listen(address: TransportAddress, onStream: (stream: ByteStream) => void, events: ListenEvents): Promise<Listener> {
      const accept = (socket: Socket): void => {
        socket.setNoDelay(true);
        onStream(socket);
      };
      const server: Server =
        tls === undefined ? createServer(accept) : createTlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, accept);
      server.on('tlsClientError', (error: Error) => events.refused(error));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (error: Error) => events.error(error));
      return {
        address: () => {
          const bound = server.address();
          return { host: address.host, port: typeof bound === 'object' && bound !== null ? bound.port : address.port };
        },
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },

    dial({ host, port }: TransportAddress): ByteStream {
      const socket =
        tls === undefined
          ? netConnect({ host, port })
          : tlsConnect({ host, port, key: tls.key, cert: tls.cert, ca: tls.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined });
      socket.setNoDelay(true);
      return socket;
    },

    async resolve(host: string): Promise<string[]> {
      if (isIP(host) !== 0) return [host];
      return (await lookup(host, { all: true })).map((entry) => entry.address);
    },
  };
}
