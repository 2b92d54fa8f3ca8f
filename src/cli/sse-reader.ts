// Reads a `text/event-stream` body (the hub's live feed) into events. Only
// what the hub sends is needed: `event` and `data` fields, comments, and
// events ended by a blank line; `id` and `retry` are ignored.

/** One server-sent event. `event` is 'message' when the server named none. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Largest unfinished line or event the reader holds; the hub's events are far smaller. */
export const MAX_SSE_EVENT_CHARS = 8 * 1024 * 1024;

export class SseReader {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private size = 0;

  /** Feeds decoded text; returns the events it completes. Throws when an event outgrows MAX_SSE_EVENT_CHARS. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (end === -1 || (this.buffer[end] === '\r' && end === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      const event = this.take(line);
      if (event) events.push(event);
    }
    if (this.buffer.length + this.size > MAX_SSE_EVENT_CHARS) throw new Error(`a feed event is larger than ${MAX_SSE_EVENT_CHARS} characters`);
    return events;
  }

  private take(line: string): SseEvent | undefined {
    if (line === '') {
      const event = this.data.length === 0 ? undefined : { event: this.event || 'message', data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      this.size = 0;
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.size += value.length;
    }
    return undefined;
  }
}
