// A Bloom filter over ids (transfer ids, client references). Almost every new transfer has a new
// id; asking the filter first answers "certainly new" from memory and leaves the database for the
// rare "maybe seen". False positives cost one index lookup; there are no false negatives.
const HASHES = 7;

/**
 * A rebuilt filter is sized for this many times the ids it holds: each rebuild rereads every id,
 * so doubling reread them over and over as an import grew (1.7 M, then 6.7 M ids at 1,000,000
 * subscribers, none at 100,000); four times costs a few bytes an id and rereads at most a third
 * of what the filter ends up holding.
 */
const REBUILD_GROWTH = 4;

export class IdFilter {
  private bits: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(expected: number) {
    const size = nextPowerOfTwo(Math.max(1 << 16, expected * 10));
    this.bits = new Uint32Array(size >>> 5);
    this.mask = size - 1;
  }

  /** An empty filter with room for `count` ids and the growth after them. */
  static rebuiltFor(count: number): IdFilter {
    return new IdFilter(Math.max(1_000_000, count * REBUILD_GROWTH));
  }

  /** Ids added so far. */
  get size(): number {
    return this.count;
  }

  /** Whether the filter is fuller than its design (then false positives rise; rebuild bigger). */
  get saturated(): boolean {
    return this.count * 10 > this.mask + 1;
  }

  add(id: string): void {
    let [h1, h2] = hash(id);
    for (let i = 0; i < HASHES; i++) {
      const bit = h1 & this.mask;
      this.bits[bit >>> 5] |= 1 << (bit & 31);
      h1 = (h1 + h2) >>> 0;
    }
    this.count += 1;
  }

  mightContain(id: string): boolean {
    let [h1, h2] = hash(id);
    for (let i = 0; i < HASHES; i++) {
      const bit = h1 & this.mask;
      if ((this.bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
      h1 = (h1 + h2) >>> 0;
    }
    return true;
  }
}

function nextPowerOfTwo(value: number): number {
  let size = 1;
  while (size < value) size *= 2;
  return size;
}

// Two independent 32-bit FNV-1a style hashes (different offsets and a final mix), for double hashing.
const pair: [number, number] = [0, 0];
function hash(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  b ^= b >>> 15;
  b = Math.imul(b, 0x2c1b3c6d);
  b ^= b >>> 12;
  pair[0] = a >>> 0;
  pair[1] = (b | 1) >>> 0;
  return pair;
}
