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

/** The part of uWS's HttpResponse a WebSocket upgrade handler needs. */
export interface UwsUpgradeResponse extends UwsResponse {
  upgrade<UserData>(userData: UserData, secWebSocketKey: string, secWebSocketProtocol: string, secWebSocketExtensions: string, context: unknown): void;
}
export interface UwsWebSocket<UserData> {
  /** 1 sent, 0 sent but buffered (backpressure), 2 dropped (over maxBackpressure). */
  send(message: string | ArrayBuffer | Uint8Array, isBinary?: boolean, compress?: boolean): number;
  getBufferedAmount(): number;
  end(code?: number, shortMessage?: string): void;
  close(): void;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  getUserData(): UserData;
}
export interface UwsWebSocketBehavior<UserData> {
  maxPayloadLength?: number;
  /** Close a socket whose send/publish would pass maxBackpressure (instead of skipping the message). */
  closeOnBackpressureLimit?: boolean;
  idleTimeout?: number;
  maxBackpressure?: number;
  sendPingsAutomatically?: boolean;
  upgrade?: (res: UwsUpgradeResponse, req: UwsRequest, context: unknown) => void;
  open?: (ws: UwsWebSocket<UserData>) => void;
  message?: (ws: UwsWebSocket<UserData>, message: ArrayBuffer, isBinary: boolean) => void;
  drain?: (ws: UwsWebSocket<UserData>) => void;
  close?: (ws: UwsWebSocket<UserData>, code: number, message: ArrayBuffer) => void;
}

export interface UwsApp {
  get(pattern: string, handler: Handler): UwsApp;
  post(pattern: string, handler: Handler): UwsApp;
  any(pattern: string, handler: Handler): UwsApp;
  listen(host: string, port: number, cb: (token: unknown) => void): UwsApp;
  ws<UserData>(pattern: string, behavior: UwsWebSocketBehavior<UserData>): UwsApp;
  /** Sends to every socket subscribed to `topic`, each under its own backpressure limit. */
  publish(topic: string, message: string | ArrayBuffer | Uint8Array, isBinary?: boolean, compress?: boolean): boolean;
  numSubscribers(topic: string): number;
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
