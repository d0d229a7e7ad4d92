// Syntax rules for single values (hostnames, host:port pairs, labels): each returns a reason or null.
import { parseIp } from '../tables/ip-address.js';

const MAX_HOSTNAME = 253;
const MAX_LABEL = 63;

/** spec §1.3: hostname syntax (326–330, 355) and wildcard placement (402/403). */
export function hostnameProblem(name: string): string | null {
  if (name === '') return 'hostname is empty';
  if (name.length > MAX_HOSTNAME) return `hostname is longer than ${MAX_HOSTNAME} characters`;
  if (name.includes('_')) return `hostname '${name}' contains '_', which is not allowed in hostnames (ERR_NGROK_355)`;
  if (!/^[A-Za-z0-9.*-]+$/.test(name)) {
    return `hostname '${name}' may contain only letters, digits, '.', '*' and '-' (ERR_NGROK_326)`;
  }
  if (name.includes('..')) return `hostname '${name}' contains an empty label '..' (ERR_NGROK_327)`;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label.includes('*')) {
      if (label !== '*') return `hostname '${name}': a wildcard must be a whole label, as in '*.example.com' (ERR_NGROK_403)`;
      if (i !== 0) return `hostname '${name}': a wildcard is allowed only as the first label, as in '*.example.com' (ERR_NGROK_402)`;
      if (labels.length < 2) return `hostname '${name}': a wildcard needs a domain after it, as in '*.example.com'`;
      continue;
    }
    if (label.length > MAX_LABEL) return `hostname '${name}': label '${label}' is longer than ${MAX_LABEL} characters`;
    if (!/^[A-Za-z0-9]/.test(label)) return `hostname '${name}': label '${label}' must start with a letter or digit (ERR_NGROK_328)`;
    if (!/[A-Za-z0-9]$/.test(label)) return `hostname '${name}': label '${label}' must end with a letter or digit (ERR_NGROK_329)`;
    if (label.length >= 4 && label.slice(2, 4) === '--' && label.slice(0, 4).toLowerCase() !== 'xn--') {
      return `hostname '${name}': label '${label}' has '--' in positions 3-4, allowed only in 'xn--' labels (ERR_NGROK_330)`;
    }
  }
  if (labels.length === 1 && name !== 'localhost') return `hostname '${name}' must have at least two labels`;
  return null;
}

export interface HostPort {
  host: string;
  port: number;
}

/** 'host:port' or '[v6]:port' → parts; the port must be 1..65535 (or 0 when allowZero). */
export function splitHostPort(text: string, allowZero = false): HostPort | { error: string } {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { error: `'${text}' must be host:port` };
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return { error: `'${text}': unterminated '[' around an IPv6 address` };
    host = host.slice(1, -1);
    if (parseIp(host)?.family !== 6) return { error: `'${text}': '${host}' in brackets is not an IPv6 address` };
  } else if (host.includes(':')) {
    return { error: `'${text}': write IPv6 addresses in brackets, as in [::1]:443` };
  }
  if (host === '') return { error: `'${text}' has no host` };
  if (!/^[0-9]{1,5}$/.test(portText)) return { error: `'${text}' has no valid port (1-65535) (ERR_NGROK_7112)` };
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowZero)) {
    return { error: `'${text}': port ${port} is out of range, must be ${allowZero ? 0 : 1}-65535 (ERR_NGROK_7112)` };
  }
  return { host, port };
}

/** A network host to dial or bind: an IP address or a hostname. */
export function dialHostProblem(host: string): string | null {
  if (parseIp(host) !== null) return null;
  // single-label names ('db') are fine here: they resolve through /etc/hosts or a container network
  if (host.length <= MAX_HOSTNAME && /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host)) {
    return null;
  }
  return `'${host}' is neither an IP address nor a valid hostname`;
}

/** spec §1.7: tunnel group label keys and values are non-empty and have no '=' (6531). */
export function labelProblem(key: string, value: string): string | null {
  if (key === '') return 'label keys must not be empty (ERR_NGROK_6531)';
  if (value === '') return `label '${key}' has an empty value (ERR_NGROK_6531)`;
  if (key.includes('=') || value.includes('=')) return `label '${key}' must not contain '=' in its key or value (ERR_NGROK_6531)`;
  return null;
}
