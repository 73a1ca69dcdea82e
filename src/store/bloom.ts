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

/**
 * Designed for at least this many ids (32 MB; it grows at half that: saturated). A filter that
 * grows answers a new id only after asking each layer, one cache miss apiece, so the first should
 * not fill within a busy day. At 8,000,000 (16 MB) the ledger bench's later millions of transfers
 * ran 10-15% slower: a fuller filter's false positives each cost a database read.
 */
const MINIMUM_IDS = 16_000_000;

/** Words in a block: every id's bits lie in one 512-bit block, one cache line (see add). */
const BLOCK_WORDS = 16;

export class IdFilter {
  private bits: Uint32Array;
  private readonly bitCount: number;
  private readonly blockMask: number;
  private count = 0;
  /** The filter this one grew from (grown()): it still answers for the ids it holds. */
  private older: IdFilter | undefined;

  constructor(expected: number) {
    this.bitCount = nextPowerOfTwo(Math.max(1 << 16, expected * 10));
    this.bits = new Uint32Array(this.bitCount >>> 5);
    this.blockMask = this.bitCount / (32 * BLOCK_WORDS) - 1;
  }

  /** An empty filter with room for `count` ids and the growth after them. */
  static rebuiltFor(count: number): IdFilter {
    return new IdFilter(Math.max(MINIMUM_IDS, count * REBUILD_GROWTH));
  }

  /** Ids added so far. */
  get size(): number {
    return this.count + (this.older?.size ?? 0);
  }

  /**
   * A bigger filter that answers for this one's ids without reading them again: new ids go
   * into its own bits, and a query asks both. Rebuilding from the database instead stalled the
   * writer about a second at each million transfers.
   */
  grown(): IdFilter {
    const next = IdFilter.rebuiltFor(this.size);
    next.older = this;
    return next;
  }

  /**
   * Whether it is time to grow: at half its design (20 bits an id). A layer stops taking ids when
   * it grows but still answers every query, so its false positives stay for good: at its full
   * design (10 bits an id) a layer answers "maybe" for about 0.6% of new ids, each then a database
   * read; at half, about 0.03%.
   */
  get saturated(): boolean {
    return this.count * 20 > this.bitCount;
  }

  /**
   * A blocked filter: the first hash picks a block, the second the bits inside it. With the
   * bits spread over the whole array, each add and each query of a new id missed the CPU cache
   * up to seven times (the filter is tens of megabytes); now once, for about a fifth more false
   * positives at ten bits an id.
   */
  add(id: string): void {
    const [h1, h2] = hash(id);
    const base = (h1 & this.blockMask) * BLOCK_WORDS;
    let g = h2;
    for (let i = 0; i < HASHES; i++) {
      const bit = g >>> 23;
      this.bits[base + (bit >>> 5)] |= 1 << (bit & 31);
      g = next(g);
    }
    this.count += 1;
  }

  mightContain(id: string): boolean {
    const [h1, h2] = hash(id);
    const base = (h1 & this.blockMask) * BLOCK_WORDS;
    let g = h2;
    for (let i = 0; i < HASHES; i++) {
      const bit = g >>> 23;
      if ((this.bits[base + (bit >>> 5)] & (1 << (bit & 31))) === 0) return this.older?.mightContain(id) ?? false;
      g = next(g);
    }
    return true;
  }
}

/** The next 32-bit value of a cheap mixing sequence: each probe takes its top nine bits. */
function next(g: number): number {
  g = Math.imul(g ^ (g >>> 16), 0x45d9f3b);
  return (g ^ (g >>> 13)) >>> 0;
}

function nextPowerOfTwo(value: number): number {
  let size = 1;
  while (size < value) size *= 2;
  return size;
}

// Two 32-bit lanes over the text in one pass (FNV-1a, and a multiply-xorshift lane with another
// multiplier), then avalanche mixes: the block from one, the bits in it from both. A single
// 32-bit lane collided for one pair of ids in 2^32: with millions of ids that floor alone was
// 0.05-0.2% false positives, and sequential ids of another prefix hit 0.44% at 2 million.
const pair: [number, number] = [0, 0];
function hash(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x2f8d5f3b;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  const h1 = mix(a);
  pair[0] = h1;
  pair[1] = mix((mix(b) + h1 + 0x9e3779b9) | 0) | 1;
  return pair;
}

/** MurmurHash3's 32-bit finalizer: every input bit moves about half the output bits. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
