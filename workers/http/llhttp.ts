// llhttp, through the binding Node's own http module uses. We drive it directly on raw sockets
// instead of going through http.Server/IncomingMessage: the same C parser (same strictness against
// request smuggling), without the per-request stream objects. Measured on this machine (wrk -c64,
// proxy pinned to one core, nginx origin): node:http + undici 86 µs CPU/request, this path 47.
// The binding is internal but stable across Node 12–22 (undici and http-parser-js tests use it too).

/** Callback slots and constants of Node's HTTPParser binding. */
export interface HttpParserBinding {
  new (): HttpParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
}

export interface HttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes consumed, or an Error with `code` (HPE_*), `reason` and `bytesParsed`. */
  execute(data: Buffer): number | ParserError;
  finish(): number | ParserError | undefined;
  pause(): void;
  resume(): void;
  /** Reads straight from a StreamBase handle; results arrive through kOnExecute. */
  consume(handle: object): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
  close(): void;
  free(): void;
  [slot: number]: unknown;
}

export interface ParserError extends Error { code: string; reason: string; bytesParsed: number }

interface Binding { HTTPParser: HttpParserBinding; methods: string[] }

function loadBinding(): Binding {
  // process.binding warns (DEP0111) on first use; the warning is about the API being internal,
  // which we accept knowingly, so keep it out of users' logs.
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    return (process as unknown as { binding(name: string): Binding }).binding('http_parser');
  } finally {
    process.noDeprecation = quiet;
  }
}

const binding = loadBinding();
export const HTTPParser = binding.HTTPParser;
/** Method names by the index llhttp reports. */
export const METHODS: readonly string[] = binding.methods;

export const kOnMessageBegin = HTTPParser.kOnMessageBegin | 0;
export const kOnHeaders = HTTPParser.kOnHeaders | 0;
export const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
export const kOnBody = HTTPParser.kOnBody | 0;
export const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;
export const kOnExecute = HTTPParser.kOnExecute | 0;

export function isParserError(value: unknown): value is ParserError {
  return value instanceof Error;
}
