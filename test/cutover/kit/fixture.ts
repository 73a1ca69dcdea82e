// A platform with the cutover module under test and its tools plugged in, served by the real
// app (not listening), with an operator key: the runbook and notice tests share it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { KeyStore } from '../../../src/auth/keys.js';
import { buildApp } from '../../../src/channels/http/app.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { cutoverModule, type CutoverModule, type CutoverModuleOptions } from '../../../src/cutover/kit/module.js';
import { openPlatform, type ModuleFactory, type Platform } from '../../../src/platform.js';
import { partyDocument, type Language, type Party, type PartyStatus } from '../../../src/products/parties.js';
import { OUTBOX, outboxDocument, type OutboxMessage } from '../../../src/products/outbox.js';
import { openLedger, type LedgerHandle } from '../../../src/store/open.js';
import type { Msisdn } from '../../../src/products/msisdn.js';

export interface KitFixture {
  dir: string;
  handle: LedgerHandle;
  platform: Platform;
  app: FastifyInstance;
  cutover: CutoverModule;
  request(options: { method?: 'GET' | 'POST'; url: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** Closes the platform but keeps the directory, to reopen it. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function openKit(options: CutoverModuleOptions & { dir?: string; before?: ModuleFactory[]; config?: Partial<Config> } = {}): Promise<KitFixture> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mari-kit-'));
  const config = loadConfig({}, { data_dir: dir, ...options.config });
  const handle = await openLedger({ dataDir: dir });
  const platform = await openPlatform(handle, config, [...(options.before ?? []), cutoverModule({ timers: false, ...options })]);
  const keys = KeyStore.open(config);
  const key = keys.create('operator', 'kit test');
  const app = await buildApp({ handle, config, keys, modules: platform.modules.values() });
  const stop = async () => {
    await app.close();
    await platform.close();
  };
  return {
    dir, handle, platform, app, cutover: platform.module<CutoverModule>('cutover'),
    async request({ method, url, body }) {
      const response = await app.inject({
        method: method ?? (body === undefined ? 'GET' : 'POST'), url, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.statusCode, body: response.body === '' ? undefined : JSON.parse(response.body) };
    },
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function subscriber(options: { id: string; msisdn: string; language?: Language; status?: PartyStatus }): Party {
  return {
    id: options.id, kind: 'subscriber', name: options.id, status: options.status ?? 'active', msisdn: options.msisdn as Msisdn, kyc_tier: 1,
    language: options.language ?? 'en', code: null, legacy: null, created_at: new Date(0).toISOString(),
  };
}

export async function writeParties(handle: LedgerHandle, parties: readonly Party[]): Promise<void> {
  await handle.writer.execute({ run: (ctx) => parties.forEach((party) => ctx.put(partyDocument(party))) });
}

export async function outbox(handle: LedgerHandle, prefix: string): Promise<OutboxMessage[]> {
  const messages: OutboxMessage[] = [];
  for await (const doc of handle.store.documents(OUTBOX, { prefix })) messages.push(JSON.parse(doc.value) as OutboxMessage);
  return messages;
}

/** Records a delivery outcome on a message as the SMS sender does from a delivery report. */
export async function recordOutcome(handle: LedgerHandle, message: OutboxMessage, outcome: { state: 'delivered' | 'failed' | 'submitted'; reason?: string; at: Date }): Promise<void> {
  const next: OutboxMessage = { ...message, state: outcome.state, attempts: message.attempts + 1, updated_at: outcome.at.toISOString(), ...(outcome.reason ? { reason: outcome.reason } : {}) };
  await handle.writer.execute({ run: (ctx) => ctx.put(outboxDocument(next)) });
}
