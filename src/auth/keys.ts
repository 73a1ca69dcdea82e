// API keys. The key file keeps only each key's sha256, so reading it (or a backup of the data
// directory) never yields a usable key. A key is shown once, when created.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROLES, type Config, type Role } from '../config.js';

export { ROLES, type Role };

export const KEY_FILE_NAME = 'api-keys.json';
export const KEY_PREFIX = 'mari_';
const KEY_BYTES = 32;
/** Hex digits of the hash shown by list() and accepted by revoke(): enough to be unique, useless to guess from. */
export const HASH_PREFIX_LENGTH = 12;
const LABEL_LENGTH_MAX = 128;
const KEYS_MAX = 10_000;
/** How often authenticate() looks for changes another process (the CLI) made to the key file. */
const RELOAD_INTERVAL_MS = 1_000;

interface StoredKey {
  hash: string;
  role: Role;
  label: string | null;
  /** ISO 8601, UTC. */
  created: string;
}

interface KeyFile {
  version: 1;
  keys: StoredKey[];
}

export interface KeyInfo {
  hash_prefix: string;
  role: Role;
  label: string | null;
  created: string | null;
  source: 'file' | 'config';
}

interface Held {
  hash: Buffer;
  role: Role;
}

export class KeyStore {
  private file: KeyFile = { version: 1, keys: [] };
  private held: Held[] = [];
  private readonly configHeld: readonly Held[];
  private fileStamp = '';
  private checkedMs = 0;

  private constructor(
    readonly filePath: string,
    configKeys: Config['api_keys'],
  ) {
    this.configHeld = configKeys.map((entry) => ({ hash: sha256(entry.key), role: entry.role }));
    this.reload();
  }

  /** Opens `<data_dir>/api-keys.json` (created on the first key) and adds the keys from the configuration. */
  static open(config: Pick<Config, 'data_dir' | 'api_keys'>): KeyStore {
    return new KeyStore(path.join(config.data_dir, KEY_FILE_NAME), config.api_keys);
  }

  /** Returns the new key; only its hash is kept. */
  create(role: Role, label?: string): string {
    if (!ROLES.includes(role)) throw new Error(`unknown role ${String(role)}`);
    if (label !== undefined && label.length > LABEL_LENGTH_MAX) throw new Error(`a label is at most ${LABEL_LENGTH_MAX} characters`);
    this.reload();
    if (this.file.keys.length >= KEYS_MAX) throw new Error(`the key file holds the most keys allowed (${KEYS_MAX})`);
    const key = KEY_PREFIX + crypto.randomBytes(KEY_BYTES).toString('base64url');
    const stored: StoredKey = { hash: sha256(key).toString('hex'), role, label: label ?? null, created: new Date().toISOString() };
    this.write({ version: 1, keys: [...this.file.keys, stored] });
    return key;
  }

  /** The key's role, or undefined. Compares against every key in constant time per key, without stopping early. */
  authenticate(key: string): Role | undefined {
    this.reloadIfStale();
    const presented = sha256(key);
    let role: Role | undefined;
    for (const held of [...this.configHeld, ...this.held]) {
      if (crypto.timingSafeEqual(presented, held.hash) && role === undefined) role = held.role;
    }
    return role;
  }

  list(): KeyInfo[] {
    this.reload();
    const fromFile = this.file.keys.map((stored): KeyInfo => ({
      hash_prefix: stored.hash.slice(0, HASH_PREFIX_LENGTH), role: stored.role, label: stored.label, created: stored.created, source: 'file',
    }));
    const fromConfig = this.configHeld.map((held): KeyInfo => ({
      hash_prefix: held.hash.toString('hex').slice(0, HASH_PREFIX_LENGTH), role: held.role, label: null, created: null, source: 'config',
    }));
    return [...fromFile, ...fromConfig];
  }

  /** Removes the one file key whose hash starts with `hashPrefix` (at least 8 hex digits); undefined if none does. */
  revoke(hashPrefix: string): KeyInfo | undefined {
    const prefix = hashPrefix.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(prefix)) throw new Error('a hash prefix is 8 to 64 hex digits');
    this.reload();
    const matches = this.file.keys.filter((stored) => stored.hash.startsWith(prefix));
    if (matches.length === 0) {
      if (this.configHeld.some((held) => held.hash.toString('hex').startsWith(prefix))) throw new Error('that key comes from MARI_API_KEYS; remove it there');
      return undefined;
    }
    if (matches.length > 1) throw new Error('more than one key has that hash prefix; give more digits');
    const [revoked] = matches;
    this.write({ version: 1, keys: this.file.keys.filter((stored) => stored !== revoked) });
    return { hash_prefix: revoked.hash.slice(0, HASH_PREFIX_LENGTH), role: revoked.role, label: revoked.label, created: revoked.created, source: 'file' };
  }

  private reloadIfStale(): void {
    const now = Date.now();
    if (now - this.checkedMs < RELOAD_INTERVAL_MS) return;
    this.reload();
  }

  /** Rereads the file if it changed since the last read (another process may have added or revoked a key). */
  private reload(): void {
    this.checkedMs = Date.now();
    const stamp = fileStamp(this.filePath);
    if (stamp === this.fileStamp) return;
    const file = stamp === '' ? { version: 1 as const, keys: [] } : readKeyFile(this.filePath);
    this.file = file;
    this.held = file.keys.map((stored) => ({ hash: Buffer.from(stored.hash, 'hex'), role: stored.role }));
    this.fileStamp = stamp;
  }

  /** Writes a temporary file, syncs it, then renames it over the key file, so a crash leaves the old or the new file whole. */
  private write(file: KeyFile): void {
    fs.mkdirSync(path.dirname(this.filePath), { recursive: true });
    const temporary = `${this.filePath}.${process.pid}.tmp`;
    // A leftover temporary file would keep its old mode: start from none so 0600 applies.
    fs.rmSync(temporary, { force: true });
    const descriptor = fs.openSync(temporary, 'wx', 0o600);
    try {
      fs.writeSync(descriptor, JSON.stringify(file, null, 2) + '\n');
      fs.fsyncSync(descriptor);
    } finally {
      fs.closeSync(descriptor);
    }
    fs.renameSync(temporary, this.filePath);
    this.fileStamp = '';
    this.reload();
  }
}

function sha256(text: string): Buffer {
  // One-shot: every request hashes its key, and a Hash object costs more than the hashing.
  return crypto.hash('sha256', text, 'buffer');
}

function fileStamp(filePath: string): string {
  try {
    const stat = fs.statSync(filePath);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function readKeyFile(filePath: string): KeyFile {
  const parsed = JSON.parse(fs.readFileSync(filePath, 'utf8')) as unknown;
  if (!isKeyFile(parsed)) throw new Error(`${filePath} is not a mari key file`);
  return parsed;
}

function isKeyFile(value: unknown): value is KeyFile {
  if (typeof value !== 'object' || value === null) return false;
  const file = value as Partial<KeyFile>;
  return file.version === 1 && Array.isArray(file.keys) && file.keys.every(isStoredKey);
}

function isStoredKey(value: unknown): value is StoredKey {
  const key = value as Partial<StoredKey> | null;
  return typeof key === 'object' && key !== null && typeof key.hash === 'string' && /^[0-9a-f]{64}$/.test(key.hash) &&
    ROLES.includes(key.role as Role) && (key.label === null || typeof key.label === 'string') && typeof key.created === 'string';
}
