// A tiny PNG reader for screenshot checks: 8-bit RGB/RGBA, non-interlaced (what Chromium writes).
// Inflates the IDAT stream and undoes the per-row filters, so pixel statistics are real.
import { inflateSync } from 'node:zlib';

export interface Png { width: number; height: number; channels: number; pixels: Buffer }

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(file: Buffer): Png {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let offset = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (offset < file.length) {
    const length = file.readUInt32BE(offset);
    const type = file.toString('latin1', offset + 4, offset + 8);
    const data = file.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length;
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8], colour = data[9], interlace = data[12];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) throw new Error(`unsupported PNG (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  if (channels === 0) throw new Error('PNG without IHDR');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels] : 0;
      const b = y > 0 ? pixels[out - stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[out - stride + x - channels] : 0;
      const v = line[x];
      const value = filter === 0 ? v : filter === 1 ? v + a : filter === 2 ? v + b : filter === 3 ? v + ((a + b) >> 1) : filter === 4 ? v + paeth(a, b, c) : NaN;
      if (Number.isNaN(value)) throw new Error(`bad PNG filter ${filter} on row ${y}`);
      pixels[out + x] = value & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Luma variance over all pixels and the number of distinct RGB colours (capped at `cap`). */
export function pixelStats(png: Png, cap = 10_000): { variance: number; colours: number } {
  let sum = 0, sumSq = 0;
  const colours = new Set<number>();
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    const p = i * png.channels;
    const r = png.pixels[p], g = png.pixels[p + 1], b = png.pixels[p + 2];
    const luma = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += luma;
    sumSq += luma * luma;
    if (colours.size < cap) colours.add((r << 16) | (g << 8) | b);
  }
  const mean = sum / n;
  return { variance: sumSq / n - mean * mean, colours: colours.size };
}
