// Automatic certificates (spec §1.3 certificate_management_policy): for every managed reserved domain,
// obtain a certificate over ACME, serve it, renew it `acme.renew_before` days before it expires and
// retry failures with backoff. The host (the daemon) installs each new set of certificates as a new
// generation, so connections opened before keep theirs and new ones get the new certificate.
import acme from 'acme-client';
import type { LoadedConfig } from '../config/load.js';
import type { ManagedCertificate } from '../generation/build.js';
import { log } from '../log.js';
import { createAccountKey, issueCertificate } from './issue.js';
import { wantedCertificates, type WantedCertificate } from './names.js';
import { AcmeStore, type StoredCertificate } from './store.js';
import { ProvisioningError, renewalTime, retryDelayMs, type CertificateManagementStatus, type ProvisioningJob } from './status.js';

export type { CertificateManagementStatus, ProvisioningJob } from './status.js';
export type { ManagedCertificate } from '../generation/build.js';
export { acmeChallengeKey, encodeKeyAuthorization, writeAcmeChallenge, ACME_CHALLENGE_TTL_MS } from './challenge.js';


export interface AcmeHost {
  /** The running config (reserved_domains, acme settings). */
  current(): LoadedConfig;
  /** Where the account key and issued certificates are kept (0600), so a restart reuses them; null: memory only. */
  stateDir(): string | null;
  /** Publishes (or with null withdraws) an HTTP-01 answer for every worker's cleartext listener. */
  setChallenge(token: string, keyAuthorization: string | null): void;
  /** Installs a new generation with these certificates (by reserved domain); resolves once every worker serves them. */
  installCertificates(managed: ReadonlyMap<string, ManagedCertificate>): Promise<void>;
}

export interface AcmeManagerOptions {
  /** ms clock (tests move it to reach renewal time). */
  now?: () => number;
  /** Delays after the 1st, 2nd, … failure. */
  retryDelaysMs?: readonly number[];
  /** Least time between two issuances of one domain, whatever renew_before says. */
  minRenewalIntervalMs?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's ceiling (~24.8 days): longer waits re-arm
const DEFAULT_MIN_RENEWAL_INTERVAL_MS = 60 * 60 * 1000;
const CLOSE_WAIT_MS = 10_000;

interface DomainState {
  wanted: WantedCertificate;
  /** The certificate served (issued now or read back from the state directory). */
  current: StoredCertificate | null;
  renewsAt: number | null;
  job: ProvisioningJob | null;
  failures: number;
  retryAt: number | null;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

function sameWanted(a: WantedCertificate, b: { names: readonly string[]; keyType: string }): boolean {
  return a.keyType === b.keyType && a.names.length === b.names.length && a.names.every((n, i) => n === b.names[i]);
}

export class AcmeManager {
  private readonly states = new Map<string, DomainState>();
  private readonly now: () => number;
  private readonly retryDelays: readonly number[] | undefined;
  private readonly minRenewalMs: number;
  private readonly accountKeys = new Map<string, string>(); // by directory URL
  private installing: Promise<void> = Promise.resolve();
  private installedKey = '';
  private closed = false;

  constructor(private readonly host: AcmeHost, options: AcmeManagerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.retryDelays = options.retryDelaysMs;
    this.minRenewalMs = options.minRenewalIntervalMs ?? DEFAULT_MIN_RENEWAL_INTERVAL_MS;
  }

  /** (Re)starts the work per managed domain after a config change (and at start). */
  onConfig(): void {
    if (this.closed) return;
    const wanted = wantedCertificates(this.host.current().config);
    for (const [domain, state] of this.states) {
      if (wanted.has(domain)) continue;
      if (state.timer !== null) clearTimeout(state.timer);
      this.states.delete(domain);
    }
    for (const [domain, w] of wanted) {
      let state = this.states.get(domain);
      if (state !== undefined && !sameWanted(state.wanted, w)) {
        // other names or key type: a new order now (see evaluate); the old certificate serves until then
        state.wanted = w;
        state.failures = 0;
        state.retryAt = null;
      }
      if (state === undefined) {
        state = { wanted: w, current: null, renewsAt: null, job: null, failures: 0, retryAt: null, timer: null, running: null };
        this.states.set(domain, state);
        this.restore(state);
      } else if (state.current !== null && sameWanted(w, state.current)) {
        state.renewsAt = this.renewsAt(state.current); // renew_before may have changed
      }
      this.evaluate(domain, state);
    }
    this.install();
  }

  /** certificate_management_status of a reserved domain; null when it has no certificate_management_policy (or no name to order). */
  status(domain: string): CertificateManagementStatus | null {
    const state = this.states.get(domain);
    if (state === undefined) return null;
    return {
      renews_at: state.current === null || state.renewsAt === null ? null : new Date(state.renewsAt).toISOString(),
      provisioning_job: state.job === null ? null : { ...state.job },
    };
  }

  /** Stops timers and waits (a bounded time) for orders in flight; nothing is installed afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const running: Promise<void>[] = [];
    for (const state of this.states.values()) {
      if (state.timer !== null) clearTimeout(state.timer);
      state.timer = null;
      if (state.running !== null) running.push(state.running);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(running), new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_WAIT_MS); })]);
    clearTimeout(timer);
    await this.installing.catch(() => {});
  }

  private store(): AcmeStore | null {
    const dir = this.host.stateDir();
    return dir === null ? null : new AcmeStore(dir);
  }

  /** A certificate kept from an earlier run, if it is still the one wanted and still valid. */
  private restore(state: DomainState): void {
    const stored = this.store()?.readCertificate(state.wanted.domain) ?? null;
    if (stored === null || !sameWanted(state.wanted, stored)) return;
    const directoryUrl = this.host.current().config.acme.directory_url;
    if (stored.directoryUrl !== directoryUrl) return;
    try {
      if (acme.crypto.readCertificateInfo(stored.certPem).notAfter.getTime() <= this.now()) return;
    } catch {
      return;
    }
    state.current = stored;
    state.renewsAt = this.renewsAt(stored);
  }

  private renewsAt(cert: StoredCertificate): number {
    const notAfter = acme.crypto.readCertificateInfo(cert.certPem).notAfter.getTime();
    return renewalTime(cert.issuedAt, notAfter, this.host.current().config.acme.renew_before, this.minRenewalMs);
  }

  /** Orders now if due (no certificate, renewal time, retry time), else waits for the next due time. */
  private evaluate(domain: string, state: DomainState): void {
    if (this.closed || state.running !== null) return;
    if (state.timer !== null) { clearTimeout(state.timer); state.timer = null; }
    const now = this.now();
    // A certificate for other names or another key type than the config now wants is due at once.
    const outdated = state.current === null || !sameWanted(state.wanted, state.current);
    const due = state.retryAt ?? (outdated ? now : state.renewsAt ?? now);
    if (due <= now) {
      state.running = this.provision(domain, state).finally(() => {
        state.running = null;
        if (this.states.get(domain) === state) this.evaluate(domain, state);
      });
      return;
    }
    state.timer = setTimeout(() => { state.timer = null; this.evaluate(domain, state); }, Math.min(due - now, MAX_TIMER_MS));
    state.timer.unref(); // a pending renewal must not keep a stopping process alive
  }

  private async provision(domain: string, state: DomainState): Promise<void> {
    const startedAt = this.now();
    const wanted = state.wanted;
    state.job = { error_code: null, msg: 'provisioning a certificate', started_at: new Date(startedAt).toISOString(), retries_at: null };
    const settings = this.host.current().config.acme;
    try {
      const issued = await issueCertificate({
        directoryUrl: settings.directory_url,
        directoryCa: settings.directory_ca ?? null,
        accountKeyPem: await this.accountKey(settings.directory_url, settings.account_key ?? null),
        email: settings.email,
        names: wanted.names,
        keyType: wanted.keyType,
        setChallenge: (token, keyAuthorization) => this.host.setChallenge(token, keyAuthorization),
      });
      if (this.closed || this.states.get(domain) !== state) return;
      const cert: StoredCertificate = { names: [...wanted.names], keyType: wanted.keyType, directoryUrl: settings.directory_url, ...issued, issuedAt: this.now() };
      try {
        this.store()?.writeCertificate(domain, cert);
      } catch (err) {
        log.warn('could not keep the issued certificate in the state directory; a restart will order it again', { domain, error: (err as Error).message });
      }
      state.current = cert;
      state.renewsAt = this.renewsAt(cert);
      state.job = null;
      state.failures = 0;
      state.retryAt = null;
      log.info('certificate issued', { domain, names: wanted.names, renews_at: new Date(state.renewsAt).toISOString() });
      await this.install();
    } catch (err) {
      const failure = err instanceof ProvisioningError ? err : new ProvisioningError('INTERNAL_ERROR', (err as Error).message);
      state.failures++;
      state.retryAt = this.now() + retryDelayMs(state.failures, this.retryDelays);
      state.job = { error_code: failure.code, msg: failure.message, started_at: new Date(startedAt).toISOString(), retries_at: new Date(state.retryAt).toISOString() };
      log.warn('certificate provisioning failed', { domain, error_code: failure.code, detail: failure.message, retries_at: state.job.retries_at });
    }
  }

  /** The configured key, else the one kept for this directory, else a new one (kept when there is a state directory). */
  private async accountKey(directoryUrl: string, configured: string | null): Promise<string> {
    if (configured !== null) return configured;
    const known = this.accountKeys.get(directoryUrl);
    if (known !== undefined) return known;
    const store = this.store();
    let key = store?.readAccountKey(directoryUrl) ?? null;
    if (key === null) {
      key = await createAccountKey();
      store?.writeAccountKey(directoryUrl, key);
    }
    this.accountKeys.set(directoryUrl, key);
    return key;
  }

  /** Hands the host the certificates to serve, when they changed; one installation at a time, in order. */
  private install(): Promise<void> {
    const managed = new Map<string, ManagedCertificate>();
    for (const [domain, state] of this.states) if (state.current !== null) managed.set(domain, { certPem: state.current.certPem, keyPem: state.current.keyPem });
    const key = [...managed].map(([d, c]) => `${d}\0${c.certPem}`).join('\0');
    if (key === this.installedKey || this.closed) return this.installing;
    this.installedKey = key;
    this.installing = this.installing.catch(() => {}).then(() => this.host.installCertificates(managed)).catch((err) => {
      this.installedKey = ''; // try again at the next change
      log.error('could not install the managed certificates', { error: (err as Error).message });
    });
    return this.installing;
  }
}
