// HTTP/2 settings shared by both ends of the link. Chosen, not defaulted:
// the defaults (64 KiB windows, nghttp2's reset limits) suit a web server
// talking to browsers, not one long-lived multiplexed tunnel.
import type { Settings } from 'node:http2';

/** Per-stream window: one stream can keep ~1 MiB in flight before waiting for WINDOW_UPDATE. */
export const STREAM_WINDOW_BYTES = 1 << 20;
/** Whole-session window, shared by all streams of one link. */
export const SESSION_WINDOW_BYTES = 16 << 20;
/** Streams the agent accepts at once on one link (kubectl watches, logs, exec). */
export const MAX_CONCURRENT_STREAMS = 1000;
/**
 * Memory one session may hold before it refuses new streams
 * (ENHANCE_YOUR_CALM), in MB. It counts what streams have written and not yet
 * sent: up to a stream's high-water mark (64 KiB) and one more write each.
 * At 64 the agent refused new streams once 1000 streams were sending at once
 * (bench/link.ts); 128 leaves each of MAX_CONCURRENT_STREAMS about 128 KiB.
 */
export const MAX_SESSION_MEMORY_MB = 128;
/**
 * Largest HTTP/2 frame either end accepts. Node itself sends DATA frames of
 * 16 KiB whatever the peer allows (bench/link.ts measured no difference
 * between 16 and 256 KiB here); what made one WebSocket message per 16 KiB
 * is the byte stream, which now sends one message per HTTP/2 write
 * (ws-stream.ts). The larger limit only lets a peer that does send larger
 * frames do so; one such frame holds other streams back well under a
 * millisecond at link speed.
 */
export const MAX_FRAME_BYTES = 256 * 1024;
/** Largest header block either end accepts. */
export const MAX_HEADER_LIST_BYTES = 64 * 1024;
/**
 * Rapid-reset protection (CVE-2023-44487): nghttp2 closes a session that
 * receives more RST_STREAM frames than this burst, refilled at this rate per
 * second. Cancelled watches and log streams are normal traffic here, so the
 * limits sit far above nghttp2's 1000/33 while still bounding an abusive peer.
 */
export const STREAM_RESET_BURST = 10_000;
export const STREAM_RESET_RATE = 1_000;

export const LINK_HTTP2_SETTINGS: Settings = {
  enablePush: false,
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
  maxHeaderListSize: MAX_HEADER_LIST_BYTES,
  maxFrameSize: MAX_FRAME_BYTES,
};

/**
 * Largest WebSocket message either end accepts. Each message carries one
 * write of HTTP/2 frames (nghttp2 batches a few 16 KiB frames per write), so
 * 4 MiB leaves ample room while bounding what a peer can make us buffer.
 */
export const MAX_WS_MESSAGE_BYTES = 4 * 1024 * 1024;
