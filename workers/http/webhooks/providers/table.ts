// The README's provider table, rendered from the registry so the docs cannot drift from the code.
// Run: node dist/workers/http/webhooks/providers/table.js  (prints the table; the README holds a copy
// between the webhook-providers markers, and test/unit/webhooks/table.test.ts checks they agree).
import { pathToFileURL } from 'node:url';
import { PROVIDERS } from './index.js';

export const TABLE_START = '<!-- webhook-providers:start (generated: node dist/workers/http/webhooks/providers/table.js) -->';
export const TABLE_END = '<!-- webhook-providers:end -->';

function replayWindow(seconds: number | null): string {
  return seconds === null ? 'none signed' : `±${seconds} s`;
}

export function renderProviderTable(): string {
  const lines = [
    TABLE_START,
    '| `provider` | Name | How the edge verifies it | Timestamp window | Confirmed |',
    '|---|---|---|---|---|',
  ];
  for (const p of PROVIDERS) {
    const ids = [p.id, ...(p.aliases ?? [])].map((id) => `\`${id}\``).join(', ');
    const secret = p.secret === 'forbidden' ? ' No secret.' : '';
    lines.push(`| ${ids} | ${p.name} | ${p.describe.replace(/\|/g, '\\|')}.${secret} | ${replayWindow(p.toleranceSeconds)} | ${p.confirmed ? 'yes' : '**no**'} |`);
  }
  lines.push(TABLE_END);
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(renderProviderTable());
