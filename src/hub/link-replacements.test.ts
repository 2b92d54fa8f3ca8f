import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkReplacements, MAX_REPLACEMENTS, REPLACEMENT_WINDOW_MS } from './link-replacements.ts';

describe('LinkReplacements', () => {
  it('link replacements - a rolling update swaps freely; repeated swaps within the window are exhausted, per cluster', () => {
    let now = 1_000_000;
    const guard = new LinkReplacements(() => now);
    assert.equal(guard.exhausted('a'), false);
    for (let i = 0; i < MAX_REPLACEMENTS; i++) {
      assert.equal(guard.exhausted('a'), false, `swap ${i + 1} allowed`);
      guard.record('a');
      now += 1000;
    }
    assert.equal(guard.exhausted('a'), true);
    assert.equal(guard.exhausted('b'), false, 'another cluster is not affected');
    now += REPLACEMENT_WINDOW_MS;
    assert.equal(guard.exhausted('a'), false, 'the count expires with the window');
    guard.record('a');
    guard.forget('a');
    assert.equal(guard.exhausted('a'), false);
  });

  it('link replacements - only swaps inside the window count', () => {
    let now = 0;
    const guard = new LinkReplacements(() => now);
    guard.record('a');
    now += REPLACEMENT_WINDOW_MS - 1;
    guard.record('a');
    assert.equal(guard.exhausted('a'), true);
    now += 2;
    assert.equal(guard.exhausted('a'), false, 'the first swap left the window');
  });
});
