// Keeps the gRPC control API in step with the running config: started, moved or stopped when
// control.grpc_listen / grpc_certificate_id change. grpc-js is loaded only when the API is on.
import type { LoadedConfig } from '../config/load.js';
import type { Daemon } from '../daemon.js';
import type { ControlServer } from './grpc-server.js';
import { log, errorFields } from '../log.js';

export class ControlServerSlot {
  private current: { server: ControlServer; key: string } | null = null;

  get address(): string | null { return this.current?.server.address ?? null; }

  /** Keys are read per call (a key change needs no restart); only the address or certificate restarts it. */
  async sync(daemon: Daemon, loaded: LoadedConfig): Promise<void> {
    const { grpc_listen: listen, grpc_certificate_id: certificateId } = loaded.config.control;
    const cert = certificateId === null ? undefined : loaded.certificates.get(certificateId);
    const key = listen === null ? '' : `${listen}|${cert?.certificatePem ?? ''}`;
    if ((this.current?.key ?? '') === key) return;
    await this.close();
    if (listen === null) return;
    try {
      const { startControlServer } = await import('./grpc-server.js');
      const server = await startControlServer(daemon, {
        listen,
        apiKeys: () => daemon.current.config.admin?.api_keys ?? [],
        tls: cert === undefined ? null : { certPem: cert.certificatePem, keyPem: cert.privateKeyPem },
      });
      this.current = { server, key };
      log.info('gRPC control API listening', { address: server.address, tls: cert !== undefined });
    } catch (err) {
      log.error('the gRPC control API could not start', { listen, ...errorFields(err) });
    }
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = null;
    await current?.server.close();
  }
}
