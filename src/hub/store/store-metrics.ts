// The PostgreSQL store's pool and batch queues as metrics, read at each
// scrape: a pool whose callers wait, or a queue that fills, is the first sign
// that the database or the network to it is the bottleneck.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PostgresStoreStats } from './postgres.ts';

/** Registers the store's gauges and counters on `registry`; `stats` is read at each scrape. */
export function observePostgresStore(registry: Registry, stats: () => PostgresStoreStats): void {
  new Gauge({
    name: 'uplink_hub_store_connections', help: 'The database pool\'s connections by state (busy, idle), and callers waiting for one (waiting)',
    labelNames: ['state'] as const, registers: [registry],
    collect() {
      const { pool } = stats();
      this.set({ state: 'busy' }, pool.total - pool.idle);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'waiting' }, pool.waiting);
    },
  });
  new Gauge({
    name: 'uplink_hub_store_heartbeats_queued', help: 'Heartbeats waiting for their batch to be written to the database', registers: [registry],
    collect() { this.set(stats().heartbeats.queued); },
  });
  new Counter({
    name: 'uplink_hub_store_heartbeat_batches_total', help: 'Batches of heartbeats written to the database', registers: [registry],
    collect() { setCounter(this, stats().heartbeats.batches); },
  });
  new Counter({
    name: 'uplink_hub_store_heartbeats_refused_total', help: 'Heartbeats refused because the queue was full (the database is not keeping up)', registers: [registry],
    collect() { setCounter(this, stats().heartbeats.refused); },
  });
  new Gauge({
    name: 'uplink_hub_store_link_calls_queued', help: 'Calls of new links (cluster reads, connection records, add-on reads, sweep reports) waiting for their batch',
    registers: [registry], collect() { this.set(stats().links.queued); },
  });
  new Counter({
    name: 'uplink_hub_store_link_batches_total', help: 'Batches of new links\' calls run on the database', registers: [registry],
    collect() { setCounter(this, stats().links.batches); },
  });
  new Counter({
    name: 'uplink_hub_store_link_calls_refused_total', help: 'New links\' calls refused because their queue was full', registers: [registry],
    collect() { setCounter(this, stats().links.refused); },
  });
}

/** prom-client counters only go up by inc(); a total kept elsewhere is copied in. */
function setCounter(counter: Counter, total: number): void {
  counter.reset();
  counter.inc(total);
}
