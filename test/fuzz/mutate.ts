// Byte-level mutators, in the style of libFuzzer/AFL: flips, interesting values, range inserts,
// deletes and duplicates, splices from other corpus entries, dictionary tokens, and tweaks of
// big-endian length fields (TLS, and any length-prefixed format, is full of them).
import type { Rng } from './rng.js';

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x0d, 0x3a, 0x3b, 0x3d, 0x22, 0x25, 0x2c];
const INTERESTING_16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xffff, 0x4000, 0x3fff];

export interface MutationContext {
  rng: Rng;
  /** Other corpus entries, for splicing. */
  corpus: readonly Buffer[];
  dictionary: readonly Buffer[];
  maxLen: number;
}

type Mutator = (data: Buffer, m: MutationContext) => Buffer;

const flipBit: Mutator = (d, { rng }) => {
  if (d.length === 0) return d;
  const out = Buffer.from(d);
  out[rng.below(out.length)]! ^= 1 << rng.below(8);
  return out;
};

const setInteresting: Mutator = (d, { rng }) => {
  if (d.length === 0) return Buffer.of(rng.pick(INTERESTING_8));
  const out = Buffer.from(d);
  const at = rng.below(out.length);
  out[at] = rng.chance(3) ? (out[at]! + rng.below(5) - 2) & 0xff : rng.pick(INTERESTING_8);
  return out;
};

const randomByte: Mutator = (d, { rng }) => {
  if (d.length === 0) return Buffer.of(rng.below(256));
  const out = Buffer.from(d);
  out[rng.below(out.length)] = rng.below(256);
  return out;
};

const insertBytes: Mutator = (d, { rng }) => {
  const at = rng.below(d.length + 1);
  const n = 1 + rng.below(rng.chance(4) ? 64 : 4);
  const fill = rng.chance(2) ? rng.below(256) : -1;
  const ins = Buffer.alloc(n);
  for (let i = 0; i < n; i++) ins[i] = fill >= 0 ? fill : rng.below(256);
  return Buffer.concat([d.subarray(0, at), ins, d.subarray(at)]);
};

const deleteRange: Mutator = (d, { rng }) => {
  if (d.length < 2) return d;
  const at = rng.below(d.length);
  const n = 1 + rng.below(Math.min(d.length - at, rng.chance(4) ? 256 : 8));
  return Buffer.concat([d.subarray(0, at), d.subarray(at + n)]);
};

const duplicateRange: Mutator = (d, { rng }) => {
  if (d.length === 0) return d;
  const from = rng.below(d.length);
  const n = 1 + rng.below(Math.min(d.length - from, 128));
  const at = rng.below(d.length + 1);
  const times = rng.chance(8) ? 2 + rng.below(30) : 1;
  const piece = Buffer.concat(new Array(times).fill(d.subarray(from, from + n)));
  return Buffer.concat([d.subarray(0, at), piece, d.subarray(at)]);
};

const splice: Mutator = (d, { rng, corpus }) => {
  if (corpus.length === 0) return d;
  const other = rng.pick(corpus);
  if (other.length === 0) return d;
  const from = rng.below(other.length);
  const n = 1 + rng.below(Math.min(other.length - from, 256));
  const chunk = other.subarray(from, from + n);
  const at = rng.below(d.length + 1);
  if (rng.chance(2)) return Buffer.concat([d.subarray(0, at), chunk, d.subarray(at)]);
  // Overwrite in place (keeps the length, and so the length fields, intact).
  const out = Buffer.from(d);
  chunk.copy(out, at, 0, Math.min(chunk.length, out.length - at));
  return out;
};

const crossover: Mutator = (d, { rng, corpus }) => {
  if (corpus.length === 0) return d;
  const other = rng.pick(corpus);
  return Buffer.concat([d.subarray(0, rng.below(d.length + 1)), other.subarray(rng.below(other.length + 1))]);
};

const insertToken: Mutator = (d, { rng, dictionary }) => {
  if (dictionary.length === 0) return insertBytes(d, { rng, corpus: [], dictionary, maxLen: 0 });
  const token = rng.pick(dictionary);
  const at = rng.below(d.length + 1);
  if (rng.chance(3) && d.length >= token.length) {
    const out = Buffer.from(d);
    token.copy(out, Math.min(at, out.length - token.length));
    return out;
  }
  return Buffer.concat([d.subarray(0, at), token, d.subarray(at)]);
};

const lengthField: Mutator = (d, { rng }) => {
  if (d.length < 2) return d;
  const out = Buffer.from(d);
  const at = rng.below(out.length - 1);
  const old = out.readUInt16BE(at);
  const choice = rng.below(4);
  const value = choice === 0 ? rng.pick(INTERESTING_16)
    : choice === 1 ? old + 1
    : choice === 2 ? old - 1
    : out.length - at - 2; // "the rest of the buffer", the most plausible length
  out.writeUInt16BE(value & 0xffff, at);
  return out;
};

const arith: Mutator = (d, { rng }) => {
  if (d.length === 0) return d;
  const out = Buffer.from(d);
  const at = rng.below(out.length);
  out[at] = (out[at]! + (rng.below(35) - 17)) & 0xff;
  return out;
};

const truncate: Mutator = (d, { rng }) => d.subarray(0, rng.below(d.length + 1));

const MUTATORS: readonly Mutator[] = [
  flipBit, setInteresting, randomByte, insertBytes, deleteRange, duplicateRange, splice, crossover,
  insertToken, insertToken, lengthField, arith, truncate,
];

/** 1 to 8 stacked mutations of `data`, capped at maxLen. */
export function mutate(data: Buffer, m: MutationContext): Buffer {
  let out = data;
  const rounds = 1 + m.rng.below(m.rng.chance(3) ? 8 : 2);
  for (let i = 0; i < rounds; i++) out = m.rng.pick(MUTATORS)(out, m);
  return out.length > m.maxLen ? out.subarray(0, m.maxLen) : out;
}
