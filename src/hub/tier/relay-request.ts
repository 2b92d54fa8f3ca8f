// A plain request relayed to the replica holding the cluster's link: the
// body streams to the peer through pipe() and the answer back through a
// BodyWriter (a turn of the event loop's chunks in one write, the head with
// the first of them), each with backpressure so a slow side slows the other
// instead of filling memory, with no deadline once the peer answered. The client leaving destroys the peer request, and the
// peer's connection breaking ends the client's answer: a kubectl watch with
// the ERROR event the API server ends a failed watch with (always between
// events, since a watch is handed on in whole lines), anything else by
// cutting the connection so the client sees an error, not a clean end. A
// watch whose peer dies can instead go on through the cluster's next replica
// (relay-resume.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PeerConnections, PeerTarget } from './peer-connections.ts';
import { CLUSTER_MOVED_HEADER, refuseRequest } from './relay-answers.ts';
import { BodyWriter } from '../kube/body-writer.ts';
import { relayResponseHeaders } from './relay-headers.ts';
import { WatchResume, type ResumeOptions } from './relay-resume.ts';
import { openUpstream, upstreamRefusal, type Upstream } from './relay-upstream.ts';
import type { ResumableTrack } from './relay-watch.ts';

/** How a relayed request or upgrade ended; a closed set for metric labels. */
export type RelayOutcome = 'ok' | 'client_gone' | 'peer_broke' | 'unreachable' | 'timeout' | 'busy';

export interface RequestRelayOptions {
  req: IncomingMessage;
  res: ServerResponse;
  target: PeerTarget;
  /** The request's answer form (relay-route.ts). */
  form: 'kube' | 'api';
  /** The request's headers for the peer (relay-headers.ts). */
  headers: string[];
  connections: PeerConnections;
  connectTimeoutMs: number;
  /**
   * Set for a kubectl watch or followed log: read as it passes (`track`
   * makes the reader for a 200 answer of that content type, or says it is
   * none), sent upstream as `upstreamPath`, and with `resume` it goes on
   * through the next replica when its peer dies.
   */
  watch?: {
    track: (contentType: string) => ResumableTrack | undefined;
    upstreamPath?: string;
    resume?: Omit<ResumeOptions, 'lines' | 'send' | 'end'>;
  };
  onBytes: (direction: 'to_peer' | 'from_peer', bytes: number) => void;
  done: (outcome: RelayOutcome) => void;
  /**
   * For a request without a body: where to send it instead when `failed`
   * could not be reached or no longer holds the link (the cluster is moving
   * between replicas); undefined gives up. At most MAX_RETRIES times.
   */
  retry?: (failed: PeerTarget) => Promise<PeerTarget | undefined>;
}

/** Times a request without a body is sent to another holder after its holder failed before answering. */
const MAX_RETRIES = 3;


/** Relays one plain request; never throws, and calls `done` exactly once. */
export function relayPlainRequest(options: RequestRelayOptions): void {
  new RequestRelay(options).start();
}

class RequestRelay {
  readonly #options: RequestRelayOptions;
  #upstream: Upstream | undefined;
  #finished = false;
  #lines: ResumableTrack | undefined;
  #resume: WatchResume | undefined;
  #retries = 0;
  /** The client's answer body, once the peer's head is in. */
  #body: BodyWriter | undefined;

  constructor(options: RequestRelayOptions) {
    this.#options = options;
  }

  start(): void {
    const { req, res } = this.#options;
    // Writes racing the end of the response fail quietly: how it ended is decided here, not by an error event.
    res.on('error', () => undefined);
    res.on('close', () => {
      if (!res.writableFinished) this.#finish('client_gone');
    });
    req.on('data', (chunk: Buffer) => { this.#options.onBytes('to_peer', chunk.length); });
    const upstream = this.#send(this.#options.target, this.#options.watch?.upstreamPath ?? req.url ?? '/', req.method ?? 'GET');
    req.pipe(upstream.request);
  }

  /** Sends the request (or a resumed watch) to `target`; its answer continues the client's response. */
  #send(target: PeerTarget, path: string, method: string): Upstream {
    const upstream = openUpstream({ connections: this.#options.connections, target, method, path, headers: this.#options.headers, connectTimeoutMs: this.#options.connectTimeoutMs });
    this.#upstream = upstream;
    const { request } = upstream;
    let answered = false;
    request.on('response', (answer) => {
      answered = true;
      answer.once('close', upstream.done);
      if (answer.headers[CLUSTER_MOVED_HEADER] !== undefined && this.#resume === undefined && this.#canRetry()) {
        answer.resume();
        this.#retry(target, new Error(`hub replica "${target.replicaId}" no longer holds the cluster's link`));
        return;
      }
      this.#answer(answer, target);
    });
    request.on('error', (error) => {
      upstream.done();
      // After the answer began, its own 'close' tells how it ended.
      if (answered || this.#finished) return;
      if (this.#resume !== undefined) this.#resume.attemptFailed(target, error);
      else if (this.#canRetry()) this.#retry(target, error);
      else this.#refuse(error, target);
    });
    request.on('close', () => { if (!answered) upstream.done(); });
    return upstream;
  }

  #answer(answer: IncomingMessage, target: PeerTarget): void {
    const { res } = this.#options;
    if (this.#finished) {
      answer.destroy();
      return;
    }
    if (this.#resume === undefined) {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, relayResponseHeaders(answer.rawHeaders));
      // The head goes with the body when it came with it, else alone (a quiet watch): body-writer.ts.
      this.#body = new BodyWriter(res);
      if (this.#options.watch !== undefined && answer.statusCode === 200) this.#lines = this.#options.watch.track(answer.headers['content-type'] ?? '');
    } else if (!this.#resume.accepts(answer, target)) {
      return; // the resume reads the refusal itself
    }
    const lines = this.#lines;
    const body = this.#body;
    answer.on('error', () => undefined); // a broken connection: handled at 'close'
    answer.on('data', (chunk: Buffer) => {
      this.#options.onBytes('from_peer', chunk.length);
      // A watch or log is handed on in whole lines, so a resume can go on from the last one.
      const ready = lines === undefined ? chunk : lines.push(chunk);
      if (ready !== undefined) body?.write(ready, answer);
    });
    answer.on('end', () => {
      this.#end(lines?.rest());
      this.#finish('ok');
    });
    answer.on('close', () => { if (!answer.complete) this.#broke(target); });
  }

  /** Ends the client's answer after what was written of it, with `last` if any. */
  #end(last?: Buffer | string): void {
    if (this.#body === undefined) this.#options.res.end(last);
    else this.#body.end(last);
  }

  /** Whether the request can be sent again: it has no body, and retries are left. */
  #canRetry(): boolean {
    const { req, retry } = this.#options;
    const bodiless = (req.headers['content-length'] === undefined || req.headers['content-length'] === '0') && req.headers['transfer-encoding'] === undefined;
    return retry !== undefined && bodiless && this.#retries < MAX_RETRIES && !this.#finished;
  }

  /** Sends the request to the cluster's next holder, or refuses it when there is none in time. */
  #retry(failed: PeerTarget, error: Error): void {
    this.#retries++;
    const { req, retry } = this.#options;
    (retry?.(failed) ?? Promise.resolve(undefined)).then((next) => {
      if (this.#finished) return;
      if (next === undefined) this.#refuse(error, failed);
      else this.#send(next, this.#options.watch?.upstreamPath ?? req.url ?? '/', req.method ?? 'GET').request.end();
    }, () => { this.#refuse(error, failed); });
  }

  /** The peer failed before answering the client's own request. */
  #refuse(error: Error, target: PeerTarget): void {
    const refusal = upstreamRefusal(error, target);
    refuseRequest(this.#options.res, refusal, this.#options.form);
    this.#finish(refusal.code === 'PEER_TIMEOUT' ? 'timeout' : 'unreachable');
  }

  /** The peer's connection broke during its answer. */
  #broke(target: PeerTarget): void {
    if (this.#finished) return;
    const { res, watch } = this.#options;
    const lines = this.#lines;
    if (lines === undefined) {
      res.destroy();
      this.#finish('peer_broke');
      return;
    }
    lines.discardPartial();
    if (watch?.resume !== undefined && lines.resumable) {
      this.#resume ??= new WatchResume({
        ...watch.resume, lines,
        send: (next, path) => { this.#send(next, path, 'GET').request.end(); },
        end: (line) => {
          if (line === undefined) res.destroy();
          else this.#end(line);
          this.#finish('peer_broke');
        },
      });
      this.#resume.broke(target);
      return;
    }
    const line = lines.failure(503, `hub replica "${target.replicaId}", which held the cluster's link, closed the stream`);
    if (line === undefined) res.destroy();
    else this.#end(line);
    this.#finish('peer_broke');
  }

  #finish(outcome: RelayOutcome): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#resume?.cancel();
    // After a whole answer the connection goes back to the agent for the next request.
    const request = this.#upstream?.request;
    if (outcome !== 'ok' && request !== undefined && !request.destroyed) request.destroy();
    this.#upstream?.done();
    if (outcome === 'client_gone') this.#options.req.unpipe();
    this.#options.done(outcome);
  }
}
