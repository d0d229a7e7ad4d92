// Field builders shared by the config schema files (schema.ts, schema-http.ts).
import { z } from 'zod';
import { splitHostPort } from './syntax.js';
import { parseIp } from '../tables/ip-address.js';

export const enabled = z.boolean().default(true).describe('A disabled module is kept but ignored.');

// multipleOf(1) rather than int(): zod reports int() as a type error, whose message the loader replaces.
export function integer(field: string, min: number, max: number, code = '') {
  const message = `${field} must be an integer ${min}..${max}${code === '' ? '' : ` (${code})`}`;
  return z.number().multipleOf(1, message).min(min, message).max(max, message);
}

export function seconds(field: string, opts: { min: 'positive' | 'zero'; max: number; code?: string; integer?: boolean }) {
  const code = opts.code === undefined ? '' : ` (${opts.code})`;
  const range = `${opts.min === 'positive' ? 'more than 0' : '0 or more'} and at most ${opts.max} seconds`;
  let s = z.number();
  if (opts.integer === true) s = s.multipleOf(1, `${field} is a whole number of seconds${code}`);
  s = opts.min === 'positive' ? s.positive(`${field} must be ${range}${code}`) : s.min(0, `${field} must be ${range}${code}`);
  return s.max(opts.max, `${field} must be ${range}${code}`);
}

// spec §1.5: tcp edges (and the plain HTTP listener) bind the host part, so it must be an address we can bind.
export function bindHostport(what: string) {
  return z.string().superRefine((text, ctx) => {
    const hp = splitHostPort(text);
    if ('error' in hp) return void ctx.addIssue({ code: z.ZodIssueCode.custom, message: hp.error });
    if (hp.host !== 'localhost' && parseIp(hp.host) === null) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `'${text}': ${what} is bind_address:port, where the address is an IP or 'localhost'` });
    }
  });
}

