// Audit events for API changes (spec §1.8 envelope, `principal` set): appended and fsync'd to the
// audit log in the state directory, then handed to the daemon's event output.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEventType } from '../events/model.js';
import type { Principal } from './auth.js';

export const AUDIT_LOG_FILE = 'audit.ndjson';
export const ACCOUNT_ID = 'ac_edgeplane';

/** Audit types this log writes: the resources' (subscribable), and edgeplane's record deletions. */
export type ApiAuditType = AuditEventType | 'event_records_deleted.v0';

export interface AuditEnvelope {
  event_id: string;
  event_type: ApiAuditType;
  event_timestamp: string;
  account_id: string;
  object: unknown;
  principal: Principal;
}

export class AuditLog {
  private fd: number;

  constructor(dir: string, private readonly emit: (line: string, event: AuditEnvelope) => void, private readonly warn: (msg: string, fields: Record<string, unknown>) => void) {
    this.fd = openSync(join(dir, AUDIT_LOG_FILE), 'a', 0o600);
  }

  record(type: ApiAuditType, object: unknown, principal: Principal): void {
    const event: AuditEnvelope = {
      event_id: `ev_${randomBytes(16).toString('hex').slice(0, 26)}`,
      event_type: type,
      event_timestamp: new Date().toISOString(),
      account_id: ACCOUNT_ID,
      object,
      principal,
    };
    const line = JSON.stringify(event);
    try {
      if (this.fd < 0) throw new Error('the audit log is closed');
      const bytes = Buffer.from(line + '\n');
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written);
      fsyncSync(this.fd);
    } catch (err) {
      // The change itself is stored; losing its audit line is reported loudly, not undone.
      this.warn('audit log write failed', { event_type: type, error: (err as Error).message });
    }
    this.emit(line, event);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
