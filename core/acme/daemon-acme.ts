// The daemon's automatic certificates: the ACME manager starts the first time a reserved domain has
// certificate_management_policy (acme-client is loaded only then) and is told about every applied config.
import type { LoadedConfig } from '../config/load.js';
import type { AcmeHost, AcmeManager, AcmeManagerOptions, CertificateManagementStatus } from './manager.js';

export class DaemonAcme {
  private manager: AcmeManager | null = null;
  private closed = false;

  /** `options` false: no automatic certificates (the manager is never started). */
  constructor(private readonly host: AcmeHost, private readonly options: AcmeManagerOptions | false) {}

  get running(): AcmeManager | null { return this.manager; }

  status(domain: string): CertificateManagementStatus | null { return this.manager?.status(domain) ?? null; }

  /**
   * Not awaited by the daemon's apply path: the manager installs certificates through that same serialised
   * path, which must not wait on itself.
   */
  async sync(loaded: LoadedConfig): Promise<void> {
    if (this.options === false || this.closed) return;
    if (this.manager === null) {
      if (!loaded.config.reserved_domains.some((d) => d.certificate_management_policy != null)) return;
      const { AcmeManager } = await import('./manager.js');
      if (this.manager === null && !this.closed) this.manager = new AcmeManager(this.host, this.options);
    }
    this.manager?.onConfig();
  }

  async close(): Promise<void> {
    this.closed = true;
    const manager = this.manager;
    this.manager = null;
    await manager?.close();
  }
}
