import { StringDecoder } from 'node:string_decoder';
import { UplinkError } from '../util/errors.ts';

/** A line on an NDJSON stream was longer than the limit, or was not JSON. */
export class NdjsonError extends UplinkError {
  constructor(message: string) {
    super('NDJSON_INVALID', message);
  }
}

/**
 * Splits a byte stream into JSON values, one per line, holding at most
 * `maxLineBytes` of an unfinished line. Chunk boundaries may fall anywhere,
 * including inside a multi-byte character.
 */
export class NdjsonDecoder {
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxLineBytes: number;
  private pending = '';

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Feeds bytes; returns the complete values they finish. Throws NdjsonError. */
  push(chunk: Buffer): unknown[] {
    const text = this.pending + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    if (Buffer.byteLength(this.pending) > this.maxLineBytes) {
      throw new NdjsonError(`an NDJSON line exceeds ${this.maxLineBytes} bytes`);
    }
    return lines.filter((line) => line.trim() !== '').map((line) => parseLine(line, this.maxLineBytes));
  }

  /** Whatever incomplete line remains when the stream ends. */
  get remainder(): string {
    return this.pending;
  }
}

function parseLine(line: string, maxLineBytes: number): unknown {
  if (Buffer.byteLength(line) > maxLineBytes) throw new NdjsonError(`an NDJSON line exceeds ${maxLineBytes} bytes`);
  try {
    return JSON.parse(line);
  } catch {
    throw new NdjsonError(`an NDJSON line is not JSON: ${line.slice(0, 80)}`);
  }
}

/** Serialises one value as an NDJSON line. */
export function ndjsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
