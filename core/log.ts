// One JSON line per log record on stderr, so stdout stays free for events ("-" sink) and for
// whatever an embedding program prints. Secrets never reach here: callers pass ids and reasons.
type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = LEVELS[(process.env.EDGEPLANE_LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;

export type LogFields = Record<string, unknown>;

function write(level: Level, msg: string, fields?: LogFields): void {
  if (LEVELS[level] < threshold) return;
  const record = { ts: new Date().toISOString(), level, msg, ...fields };
  process.stderr.write(JSON.stringify(record) + '\n');
}

export const log = {
  debug: (msg: string, fields?: LogFields) => write('debug', msg, fields),
  info: (msg: string, fields?: LogFields) => write('info', msg, fields),
  warn: (msg: string, fields?: LogFields) => write('warn', msg, fields),
  error: (msg: string, fields?: LogFields) => write('error', msg, fields),
};

export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { error: err.message, code: (err as NodeJS.ErrnoException).code };
  return { error: String(err) };
}
