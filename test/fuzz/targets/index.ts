// The fuzz targets by name; each module's default export is its FuzzTarget.
import type { FuzzTarget } from '../target.js';

export const TARGET_NAMES = ['client-hello', 'http1', 'config', 'templates', 'webhooks', 'saml', 'cookies'] as const;

/** A target by name, or by module URL (file:…, default export) for targets outside this list (engine self-tests). */
export async function loadTarget(name: string): Promise<FuzzTarget> {
  if (name.startsWith('file:')) return ((await import(name)) as { default: FuzzTarget }).default;
  if (!(TARGET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown fuzz target '${name}' (known: ${TARGET_NAMES.join(', ')})`);
  const mod = (await import(`./${name}.js`)) as { default: FuzzTarget };
  return mod.default;
}
