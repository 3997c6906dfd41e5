// Reads a job's output as it streams: protocol lines become events, everything is kept in a
// bounded log file and a small in-memory tail. Memory stays O(tail + one line) however much the
// job writes, and chunks are consumed as they arrive, so a chatty job never blocks on a full pipe.

import fs from 'node:fs';

/** Bytes of output kept in memory for the record (log.txt in git). */
export const DEFAULT_TAIL_BYTES = 8 * 1024;
/** A protocol line longer than this is not parsed (it is still logged). */
export const MAX_PROTOCOL_LINE = 64 * 1024;

export interface ProgressEvent {
  [field: string]: number | string | boolean | null;
}

export interface ResultEvent {
  metrics: Record<string, unknown>;
  params?: unknown;
  backend?: unknown;
}

export interface OutputCollectorOptions {
  /** output.log in the work folder; null keeps no file. */
  logFile: string | null;
  /** At most this many bytes go to the log file; the rest is read and dropped. */
  maxOutputBytes: number;
  tailBytes?: number;
  onProgress?: (event: ProgressEvent) => void;
}

const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;

export class OutputCollector {
  private readonly tailBytes: number;
  private tail: Buffer[] = [];
  private tailLength = 0;
  private fd: number | null = null;
  private fileBytes = 0;
  /** All bytes seen, per source. */
  readonly bytes = { stdout: 0, stderr: 0, file: 0 };
  private totalBytes = 0;
  private fileCapped = false;
  /** Partial protocol line per parsed source (stdout, or the cluster's output file). */
  private pending = new Map<string, { parts: Buffer[]; length: number; overflow: boolean }>();
  result: ResultEvent | null = null;
  progressEvents = 0;
  /** Protocol-looking lines that did not parse (kept in the log, not an error). */
  badLines = 0;

  constructor(private readonly opts: OutputCollectorOptions) {
    this.tailBytes = opts.tailBytes ?? DEFAULT_TAIL_BYTES;
    if (opts.logFile) this.fd = fs.openSync(opts.logFile, 'w');
  }

  /** One chunk of output. `parse` says whether the source carries protocol lines. */
  push(chunk: Buffer | Uint8Array | string, source: 'stdout' | 'stderr' | 'file', parse: boolean): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    if (buf.length === 0) return;
    this.bytes[source] += buf.length;
    this.totalBytes += buf.length;
    this.keepTail(buf);
    this.writeLog(buf);
    if (parse) this.scanLines(buf, source);
  }

  /** A line of arlo's own (e.g. "arlo: killed the job"), logged but never parsed. */
  note(text: string): void {
    const buf = Buffer.from(`[arlo] ${text}\n`);
    this.keepTail(buf);
    this.writeLog(buf, true);
  }

  /** Parses what is left of an unterminated last line and closes the log file. */
  finish(): void {
    for (const [source, p] of this.pending) {
      if (p.length > 0 && !p.overflow) this.handleLine(Buffer.concat(p.parts, p.length));
      this.pending.delete(source);
    }
    if (this.fd !== null) {
      if (this.fileCapped) {
        fs.writeSync(this.fd, `\n[arlo] output beyond ${this.opts.maxOutputBytes} bytes was not stored (${this.totalBytes} bytes in all)\n`);
      }
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  get outputBytes(): number {
    return this.totalBytes;
  }

  /** The last tailBytes of output, as text, marked when earlier output was cut. */
  tailText(): string {
    const all = Buffer.concat(this.tail, this.tailLength);
    // The chunks kept may hold up to one chunk more than tailBytes: keep exactly the last tailBytes.
    const buf = all.length > this.tailBytes ? all.subarray(all.length - this.tailBytes) : all;
    let text = buf.toString('utf8');
    const cut = this.totalBytes - buf.length;
    if (cut > 0) {
      // The cut may have split a character or a line: start at the next full line.
      const nl = text.indexOf('\n');
      if (nl >= 0 && nl < 400) text = text.slice(nl + 1);
      text = `[... ${cut} earlier bytes of output not kept here ...]\n${text}`;
    }
    return text;
  }

  private keepTail(buf: Buffer): void {
    if (buf.length >= this.tailBytes) {
      this.tail = [Buffer.from(buf.subarray(buf.length - this.tailBytes))];
      this.tailLength = this.tailBytes;
      return;
    }
    this.tail.push(buf);
    this.tailLength += buf.length;
    while (this.tailLength - this.tail[0]!.length >= this.tailBytes) {
      this.tailLength -= this.tail.shift()!.length;
    }
    // Bound the number of small chunks kept (many tiny writes).
    if (this.tail.length > 256) {
      const joined = Buffer.concat(this.tail, this.tailLength);
      this.tail = [joined];
    }
  }

  private writeLog(buf: Buffer, force = false): void {
    if (this.fd === null) return;
    const room = this.opts.maxOutputBytes - this.fileBytes;
    if (room <= 0 && !force) {
      this.fileCapped = true;
      return;
    }
    const part = force || buf.length <= room ? buf : buf.subarray(0, room);
    if (part.length < buf.length) this.fileCapped = true;
    fs.writeSync(this.fd, part);
    this.fileBytes += part.length;
  }

  private scanLines(buf: Buffer, source: string): void {
    let p = this.pending.get(source);
    if (!p) {
      p = { parts: [], length: 0, overflow: false };
      this.pending.set(source, p);
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl < 0) break;
      if (p.length === 0) {
        if (!p.overflow && buf[start] === OPEN_BRACE && nl - start <= MAX_PROTOCOL_LINE) this.handleLine(buf.subarray(start, nl));
      } else {
        if (!p.overflow && p.length + (nl - start) <= MAX_PROTOCOL_LINE) {
          p.parts.push(buf.subarray(start, nl));
          this.handleLine(Buffer.concat(p.parts, p.length + (nl - start)));
        }
        p.parts = [];
        p.length = 0;
      }
      p.overflow = false;
      start = nl + 1;
    }
    if (start < buf.length) {
      // An unterminated line: keep it only while it can still be a protocol line.
      const rest = buf.subarray(start);
      const startsProtocol = p.length > 0 ? p.parts[0]![0] === OPEN_BRACE : rest[0] === OPEN_BRACE;
      if (p.overflow || !startsProtocol || p.length + rest.length > MAX_PROTOCOL_LINE) {
        p.parts = [];
        p.length = 0;
        p.overflow = true;
      } else {
        p.parts.push(Buffer.from(rest));
        p.length += rest.length;
      }
    }
  }

  private handleLine(line: Buffer): void {
    if (line[0] !== OPEN_BRACE) return;
    const text = line.toString('utf8').trim();
    if (!text.includes('"event"')) return;
    const event = parseProtocolLine(text);
    if (!event) {
      this.badLines++;
      return;
    }
    if (event.event === 'progress') {
      this.progressEvents++;
      const fields: ProgressEvent = {};
      for (const [k, v] of Object.entries(event)) {
        if (k === 'event') continue;
        if (typeof v === 'number' || typeof v === 'boolean' || v === null || (typeof v === 'string' && v.length <= 200)) fields[k] = v;
      }
      this.opts.onProgress?.(fields);
    } else if (event.event === 'result') {
      const metrics = event.metrics;
      if (metrics && typeof metrics === 'object' && !Array.isArray(metrics)) {
        this.result = { metrics: metrics as Record<string, unknown>, params: event.params, backend: event.backend };
      } else {
        this.badLines++;
      }
    }
  }
}

/** A non-finite number that arrived as NaN / Infinity / -Infinity (Python's json.dumps writes them). */
export const NON_FINITE_TAG = '__arlo_non_finite__:';

/**
 * JSON.parse, tolerating the bare NaN, Infinity and -Infinity that Python's json module writes:
 * they come back as the numbers NaN / ±Infinity. Null for anything that is not a JSON object.
 */
export function parseProtocolLine(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Replace the bare tokens outside strings, then parse again.
    const patched = replaceBareNonFinite(text);
    if (patched === text) return null;
    try {
      value = JSON.parse(patched, (_k, v) => (typeof v === 'string' && v.startsWith(NON_FINITE_TAG) ? Number(v.slice(NON_FINITE_TAG.length)) : v));
    } catch {
      return null;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

const BARE_NON_FINITE = /(-?Infinity|NaN)(?![A-Za-z0-9_])/y;

function replaceBareNonFinite(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    BARE_NON_FINITE.lastIndex = i;
    const m = c === 'N' || c === 'I' || c === '-' ? BARE_NON_FINITE.exec(text) : null;
    if (m) {
      out += JSON.stringify(NON_FINITE_TAG + m[1]);
      i += m[1]!.length - 1;
      continue;
    }
    out += c;
  }
  return out;
}
