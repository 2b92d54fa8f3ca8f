// Reads a `text/event-stream` body (the hub's live feeds) into events, with
// eventsource-parser doing the parsing: the whole of the format (CR, LF and
// CRLF line ends, several data lines, comments, fields split anywhere), with
// a bound on what it buffers. `id` and `retry` are not used here.
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** One server-sent event. `event` is 'message' when the server named none. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Largest unfinished line or event the reader holds; the hub's events are far smaller. */
export const MAX_SSE_EVENT_CHARS = 8 * 1024 * 1024;

export class SseReader {
  private readonly parser: EventSourceParser;
  private completed: SseEvent[] = [];
  private failure: Error | undefined;

  constructor() {
    this.parser = createParser({
      maxBufferSize: MAX_SSE_EVENT_CHARS,
      onEvent: (message) => { this.completed.push({ event: message.event ?? 'message', data: message.data }); },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.failure = new Error(`a feed event is larger than ${MAX_SSE_EVENT_CHARS} characters`);
      },
    });
  }

  /** Feeds decoded text; returns the events it completes. Throws when an event outgrows MAX_SSE_EVENT_CHARS. */
  push(text: string): SseEvent[] {
    if (this.failure === undefined) this.parser.feed(text);
    if (this.failure !== undefined) throw this.failure;
    const events = this.completed;
    this.completed = [];
    return events;
  }
}
