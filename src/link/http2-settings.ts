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
/** Memory nghttp2 may hold for one session before refusing new streams, in MB. */
export const MAX_SESSION_MEMORY_MB = 64;
/**
 * Largest HTTP/2 frame either end accepts. 16 KiB (the default) meant one
 * WebSocket message and one TLS write per 16 KiB; 256 KiB doubled a single
 * stream's throughput, and at link speed one frame holds other streams back
 * for well under a millisecond.
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
