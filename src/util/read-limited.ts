import { UplinkError } from './errors.ts';

/** A body was larger than the reader's limit. */
export class BodyTooLargeError extends UplinkError {
  constructor(maxBytes: number) {
    super('BODY_TOO_LARGE', `the body is larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a whole stream as UTF-8 text, refusing (and destroying the stream)
 * once it passes `maxBytes`: every body Uplink buffers has a bound.
 */
export async function readLimited(stream: AsyncIterable<Buffer> & { destroy?: () => void }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > maxBytes) {
      stream.destroy?.();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
