// Configuration: one schema with a default for every limit, read from the environment at start,
// validated (an Error names the first bad setting), then frozen.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const ROLES = ['operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** The most events one request may carry; TigerBeetle's batch size, kept so batches map one to one. */
export const BATCH_EVENTS_HARD_MAX = 8190;
const MiB = 1024 * 1024;

const RoleSchema = Type.Union(ROLES.map((role) => Type.Literal(role)));
const ApiKeySchema = Type.Object(
  { key: Type.String({ minLength: 16, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' }), role: RoleSchema },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    data_dir: Type.String({ minLength: 1, default: './data' }),
    /** The ledger's store: absent for SQLite in data_dir, or a postgres:// URL (several hosts allowed). */
    store: Type.Optional(Type.String({ pattern: '^postgres(ql)?://.+' })),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    log_level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
      { default: 'info' },
    ),
    // A full batch of 8,190 transfers with every field set is about 3 MiB of JSON.
    body_bytes_max: Type.Integer({ minimum: 1024, maximum: 64 * MiB, default: 4 * MiB }),
    batch_events_max: Type.Integer({ minimum: 1, maximum: BATCH_EVENTS_HARD_MAX, default: BATCH_EVENTS_HARD_MAX }),
    page_size_default: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
    page_size_max: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    // One full API batch a commit: the writer applies the next while the commit thread writes this one.
    commit_events_max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 8_192 }),
    /** Keys accepted besides those in the key file, e.g. for a first operator before any key exists. */
    api_keys: Type.Array(ApiKeySchema, { maxItems: 64, default: [] }),
    // SMS (channels): which sender delivers the outbox, how fast, and how to reach Kannel.
    sms_sender: Type.Union([Type.Literal('log'), Type.Literal('kannel')], { default: 'log' }),
    sms_rate_per_second: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
    sms_attempts_max: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
    sms_backoff_ms: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 2_000 }),
    sms_from: Type.String({ minLength: 1, maxLength: 16, default: 'mari' }),
    /** Where Kannel calls back with delivery reports: mari's base URL as Kannel reaches it; empty means http://host:port. */
    sms_dlr_base_url: Type.String({ maxLength: 256, default: '' }),
    kannel_sendsms_url: Type.String({ minLength: 1, maxLength: 256, default: 'http://127.0.0.1:13013/cgi-bin/sendsms' }),
    kannel_username: Type.String({ maxLength: 64, default: 'mari' }),
    kannel_password: Type.String({ maxLength: 128, default: '' }),
    /** How long a sendsms call may take; past it the outcome is unknown and the message is not resent. */
    kannel_timeout_ms: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
    // USSD (channels): how long a session lives without an answer, as aggregators time them out.
    ussd_session_timeout_s: Type.Integer({ minimum: 1, maximum: 3_600, default: 180 }),
    /** Mobile money fees, commissions and limits (JSON); empty means the default tariffs/default.json. */
    tariff_file: Type.String({ default: '' }),
    /** The legacy database (mysql://…) after a migration: the watch reconciles against it when set. */
    legacy_url: Type.String({ maxLength: 500, default: '' }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ConfigApiKey = Config['api_keys'][number];

/** Environment variable for each setting. */
export const CONFIG_ENV: { readonly [K in keyof Config]-?: string } = Object.freeze({
  data_dir: 'MARI_DATA_DIR',
  store: 'MARI_STORE',
  port: 'PORT',
  host: 'HOST',
  log_level: 'MARI_LOG_LEVEL',
  body_bytes_max: 'MARI_BODY_BYTES_MAX',
  batch_events_max: 'MARI_BATCH_EVENTS_MAX',
  page_size_default: 'MARI_PAGE_SIZE_DEFAULT',
  page_size_max: 'MARI_PAGE_SIZE_MAX',
  commit_events_max: 'MARI_COMMIT_EVENTS_MAX',
  api_keys: 'MARI_API_KEYS',
  sms_sender: 'MARI_SMS_SENDER',
  sms_rate_per_second: 'MARI_SMS_RATE_PER_SECOND',
  sms_attempts_max: 'MARI_SMS_ATTEMPTS_MAX',
  sms_backoff_ms: 'MARI_SMS_BACKOFF_MS',
  sms_from: 'MARI_SMS_FROM',
  sms_dlr_base_url: 'MARI_SMS_DLR_BASE_URL',
  kannel_sendsms_url: 'MARI_KANNEL_SENDSMS_URL',
  kannel_username: 'MARI_KANNEL_USERNAME',
  kannel_password: 'MARI_KANNEL_PASSWORD',
  kannel_timeout_ms: 'MARI_KANNEL_TIMEOUT_MS',
  ussd_session_timeout_s: 'MARI_USSD_SESSION_TIMEOUT_S',
  tariff_file: 'MARI_TARIFF_FILE',
  legacy_url: 'MARI_LEGACY_URL',
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const candidate: Record<string, unknown> = { ...fromEnv(env), ...overrides };
  const config = Value.Default(ConfigSchema, candidate) as Record<string, unknown>;
  const error = Value.Errors(ConfigSchema, config).First();
  if (error) throw new Error(`invalid setting ${settingName(error.path)}: ${error.message}${shown(error.path, error.value)}`);
  checkRelations(config as Config);
  for (const entry of (config as Config).api_keys) Object.freeze(entry);
  Object.freeze((config as Config).api_keys);
  return Object.freeze(config as Config);
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(CONFIG_ENV) as (keyof Config)[]) {
    const text = env[CONFIG_ENV[name]];
    if (text === undefined || text === '') continue;
    values[name] = parseSetting(name, text);
  }
  return values;
}

function parseSetting(name: keyof Config, text: string): unknown {
  if (name === 'api_keys') return parseApiKeys(text);
  if (ConfigSchema.properties[name].type === 'integer') return /^[0-9]+$/.test(text) ? Number(text) : text;
  return text;
}

/** `key1:operator,key2:auditor`; the role follows the last colon so keys may hold colons. */
export function parseApiKeys(text: string): unknown[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '').map((item) => {
    const colon = item.lastIndexOf(':');
    return colon < 0 ? { key: item, role: '' } : { key: item.slice(0, colon), role: item.slice(colon + 1) };
  });
}

function checkRelations(config: Config): void {
  if (config.page_size_default > config.page_size_max) {
    throw new Error(`invalid setting page_size_default: ${config.page_size_default} is above page_size_max (${config.page_size_max})`);
  }
  // The writer takes whole requests; a commit must hold at least one full batch.
  if (config.commit_events_max < config.batch_events_max) {
    throw new Error(`invalid setting commit_events_max: ${config.commit_events_max} is below batch_events_max (${config.batch_events_max})`);
  }
}

/** The bad value, except under api_keys and store: an error message must not carry a key or a password. */
function shown(path: string, value: unknown): string {
  return path.startsWith('/api_keys') || path.startsWith('/store') || path.startsWith('/kannel_password') || path.startsWith('/legacy_url') ? '' : ` (got ${JSON.stringify(value)})`;
}

/** Names the setting (and its environment variable) without echoing secrets such as api_keys. */
function settingName(path: string): string {
  const name = path.split('/')[1] as keyof Config | undefined;
  if (name === undefined || !(name in CONFIG_ENV)) return path === '' ? '(root)' : path;
  return `${name} (${CONFIG_ENV[name]})`;
}
