/**
 * The `/metrics` endpoint: an HTTP server on the main thread serving the node's families in the
 * Prometheus text format (prom-client), with the main thread's own figures (event-loop delay,
 * heap; metrics-main-thread.ts) and the process's CPU and memory.
 *
 * A scrape gathers one MetricsSnapshot (executor counters read from shared memory without a round
 * trip, the cluster's and gateways' status on this thread, and one status round trip to each
 * service thread bounded by SERVICE_WAIT_MS), then renders every family from it. Concurrent scrapes
 * share the snapshot being gathered, so a flood of scrapes costs one gathering at a time.
 * Any path other than `/metrics` answers 404; a method other than GET or HEAD answers 405.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { ErrorCode, HordeError } from '../errors.js';
import { defineFamilies } from './metrics-families.js';
import { defineMainThreadFamilies } from './metrics-main-thread.js';
import type { MetricsSnapshot, MetricsSource } from './metrics-snapshot.js';

/** Where `/metrics` listens, as the node reports it (`node.metricsAddress`). */
export interface MetricsAddress {
  /** The address the endpoint is bound to. */
  host: string;
  /** The port it listens on (the one chosen when `listen` gave port 0). */
  port: number;
}

export class MetricsServer {
  private readonly registry = new Registry();
  private readonly server: Server;
  private snapshot: MetricsSnapshot | undefined;
  private readonly stopMainThread: () => void;
  /** The scrape under way: later requests wait for its text. */
  private rendering: Promise<string> | undefined;

  private constructor(private readonly source: MetricsSource) {
    defineFamilies(this.registry, () => this.snapshot);
    this.stopMainThread = defineMainThreadFamilies(this.registry);
    this.server = createServer((request, response) => this.serve(request, response));
  }

  /** Listens on `host:port` (port 0: a free one); rejects with HORDE_INVALID_OPTION when it cannot. */
  static async start(source: MetricsSource, host: string, port: number): Promise<MetricsServer> {
    const metrics = new MetricsServer(source);
    try {
      await new Promise<void>((resolve, reject) => {
        metrics.server.once('error', reject);
        metrics.server.listen(port, host, () => {
          metrics.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      metrics.stopMainThread();
      throw new HordeError(ErrorCode.INVALID_OPTION, `metrics.listen: cannot listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
    }
    // Errors of a listening server (not of one request) are written, as the node's events are without a listener.
    metrics.server.on('error', (error) => process.stderr.write(`[horde] metrics server: ${error.message}\n`));
    return metrics;
  }

  get address(): MetricsAddress {
    const bound = this.server.address() as AddressInfo;
    return { host: bound.address, port: bound.port };
  }

  /** The text a scrape answers; scrapes while one is gathering share its text. */
  render(): Promise<string> {
    this.rendering ??= this.gather().finally(() => {
      this.rendering = undefined;
    });
    return this.rendering;
  }

  close(): Promise<void> {
    this.stopMainThread();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async gather(): Promise<string> {
    this.snapshot = await this.source.snapshot();
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = undefined;
    }
  }

  private serve(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: horde serves /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    this.render().then(
      (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${String(error)}\n`),
    );
  }
}
