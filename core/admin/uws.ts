// Loads uWebSockets.js's native binary directly. The package falls back to a slow pure-JS
// implementation when its binary does not load; we would rather know: this throws instead.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface UwsResponse {
  writeStatus(status: string): UwsResponse;
  writeHeader(key: string, value: string): UwsResponse;
  end(body?: string): UwsResponse;
  onAborted(handler: () => void): UwsResponse;
}
export interface UwsRequest { getParameter(index: number): string | undefined; getHeader(name: string): string; getQuery(): string | undefined }
type Handler = (res: UwsResponse, req: UwsRequest) => void;
export interface UwsApp {
  get(pattern: string, handler: Handler): UwsApp;
  post(pattern: string, handler: Handler): UwsApp;
  any(pattern: string, handler: Handler): UwsApp;
  listen(host: string, port: number, cb: (token: unknown) => void): UwsApp;
  close?(): void;
}
export interface Uws {
  App(): UwsApp;
  us_listen_socket_close(token: unknown): void;
  us_socket_local_port(token: unknown): number;
}

export function loadUws(): Uws {
  const binary = `@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return require(binary) as Uws;
  } catch (err) {
    throw new Error(`uWebSockets.js native binary did not load (${binary}): ${(err as Error).message}`);
  }
}
