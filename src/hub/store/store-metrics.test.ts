import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { PostgresStoreStats } from './postgres.ts';
import { observePostgresStore } from './store-metrics.ts';

describe('store metrics', () => {
  it('store metrics - the pool and the batch queues are read at each scrape', async () => {
    const registry = new Registry();
    const stats: PostgresStoreStats = {
      pool: { total: 10, idle: 3, waiting: 2 }, heartbeats: { queued: 40, batches: 7, written: 900, refused: 1 },
      links: { queued: 5, batches: 3, written: 30, refused: 2 },
    };
    observePostgresStore(registry, () => stats);
    let text = await registry.metrics();
    assert.match(text, /uplink_hub_store_connections\{state="busy"\} 7\n/);
    assert.match(text, /uplink_hub_store_connections\{state="idle"\} 3\n/);
    assert.match(text, /uplink_hub_store_connections\{state="waiting"\} 2\n/);
    assert.match(text, /uplink_hub_store_heartbeats_queued 40\n/);
    assert.match(text, /uplink_hub_store_heartbeat_batches_total 7\n/);
    assert.match(text, /uplink_hub_store_heartbeats_refused_total 1\n/);
    assert.match(text, /uplink_hub_store_link_calls_queued 5\n/);
    assert.match(text, /uplink_hub_store_link_batches_total 3\n/);
    assert.match(text, /uplink_hub_store_link_calls_refused_total 2\n/);
    stats.heartbeats.batches = 9;
    stats.pool.waiting = 0;
    text = await registry.metrics();
    assert.match(text, /uplink_hub_store_heartbeat_batches_total 9\n/);
    assert.match(text, /uplink_hub_store_connections\{state="waiting"\} 0\n/);
  });
});
