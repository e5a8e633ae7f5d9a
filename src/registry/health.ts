// A registry host that is clearly down ends the check at once instead of letting every package wait out its
// timeout and retries (30 s x 3 tries each, 16 at a time: minutes of silence for a large tree). Every attempt
// to a host is recorded: an answer (any status) resets its count; a connection-level failure (timeout, refusal,
// reset, unreachable, unknown host) adds one. After THRESHOLD such failures in a row with no answer in between,
// the host is marked down: requests in flight to it are aborted and new ones fail at once, all with one error
// that names the host and what was tried. A deadline for the whole check (pipeline.ts) ends it the same way.
import { setMaxListeners } from 'node:events';

/** Consecutive connection-level failures to one host, with no answer in between, that mark it down. */
export const DOWN_AFTER = 3;

/** Why requests to a host stopped: it was marked down, or the run's deadline passed. Shared by every request stopped. */
export class HostDownError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
    readonly code: 'registry-down' | 'deadline',
  ) {
    super(message);
    this.name = 'HostDownError';
  }
}

/** What a failure was, as a person would say it; undefined when it is not a connection-level failure. */
export function failureKind(err: unknown): string | undefined {
  const e = err as { code?: string; type?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  // request-timeout: npm's stack and asFetchError; body-timeout: body.ts, a body that stalled after the headers.
  if (e?.type === 'request-timeout' || e?.type === 'body-timeout' || ['ETIMEDOUT', 'ERR_SOCKET_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(code))
    return 'timed out';
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return `connection closed (${code})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code})`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `unreachable (${code})`;
  return undefined;
}

interface HostState {
  consecutive: number;
  kinds: Map<string, number>;
  attempts: number;
  down?: HostDownError;
  controller: AbortController;
}

export class HostHealth {
  private readonly hosts = new Map<string, HostState>();
  /** Set by stopAll (the deadline): every host, known or not, fails with it. */
  private stopped?: HostDownError;
  /** When any host last answered (Date.now()), if one has. */
  lastAnswerAt?: number;

  /** `tried` says how each request is made (timeout and retries), for the message. */
  constructor(private readonly tried: string) {}

  private state(origin: string): HostState {
    let s = this.hosts.get(origin);
    if (!s) {
      s = { consecutive: 0, kinds: new Map(), attempts: 0, controller: new AbortController() };
      // Every request in flight to the host listens on it (undici removes its listener when the request ends).
      setMaxListeners(0, s.controller.signal);
      if (this.stopped) s.controller.abort(this.stopped);
      this.hosts.set(origin, s);
    }
    return s;
  }

  /** Throws the shared error when `origin` is down or the run was stopped. */
  check(origin: string): void {
    const err = this.stoppedFor(origin);
    if (err) throw err;
  }

  /** The error that stopped requests to `origin`, if any. */
  stoppedFor(origin: string): HostDownError | undefined {
    return this.stopped ?? this.hosts.get(origin)?.down;
  }

  /** Aborted when `origin` is marked down or the run is stopped. */
  signal(origin: string): AbortSignal {
    return this.state(origin).controller.signal;
  }

  /** An attempt was made (counted for the message). */
  attempt(origin: string): void {
    this.state(origin).attempts++;
  }

  /** The host answered (any status): it is up. */
  answered(origin: string): void {
    const s = this.state(origin);
    s.consecutive = 0;
    s.kinds.clear();
    this.lastAnswerAt = Date.now();
  }

  /** An attempt failed; a connection-level failure counts toward marking the host down. */
  failed(origin: string, err: unknown): void {
    const kind = failureKind(err);
    if (!kind) return;
    const s = this.state(origin);
    if (s.down) return;
    s.consecutive++;
    s.kinds.set(kind, (s.kinds.get(kind) ?? 0) + 1);
    if (s.consecutive < DOWN_AFTER) return;
    const host = hostOf(origin);
    const how = [...s.kinds].map(([k, n]) => `${n} x ${k}`).join(', ');
    s.down = new HostDownError(
      `the registry host ${host} is not answering: the last ${s.consecutive} requests to it failed with no answer in between (${how}), ` +
        `${s.attempts} attempted in all (${this.tried}); stopped instead of waiting on the rest`,
      `check that ${origin}/ is up and reachable from here (npm config get registry; proxy settings), then run again; --timeout and --retries change how long each request waits`,
      'registry-down',
    );
    s.controller.abort(s.down);
  }

  /** Stop every request now, to every host (the deadline passed). */
  stopAll(err: HostDownError): void {
    if (this.stopped) return;
    this.stopped = err;
    for (const s of this.hosts.values()) s.controller.abort(err);
  }
}

export function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}

/** `90000` -> `1m30s`, `300000` -> `5m`, `1500` -> `1.5s`. */
export function shortDuration(ms: number): string {
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m${s}s` : `${m}m`;
}

/** "16 names from host (a, b, c and 13 more)", for each host waited on. */
export function describeWaiting(waiting: { host: string; names: string[] }[]): string {
  if (!waiting.length) return 'nothing from the network (reading the cache, checking)';
  return waiting
    .map(({ host, names }) => {
      const shown = names.slice(0, 3).join(', ');
      const more = names.length > 3 ? ` and ${names.length - 3} more` : '';
      return `${names.length} name${names.length === 1 ? '' : 's'} from ${host} (${shown}${more})`;
    })
    .join('; ');
}
