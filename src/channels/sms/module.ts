// The SMS platform module: delivers the outbox through the configured gateway (the log file by
// default, or Kannel), takes Kannel's delivery reports, and answers where each message stands.
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { RequestError } from '../../errors/registry.js';
import { createLogger } from '../../log.js';
import type { ModuleFactory, ProductModule } from '../../platform.js';
import { requireMsisdn } from '../../products/msisdn.js';
import { OUTBOX, type MessageState, type OutboxMessage } from '../../products/outbox.js';
import type { LedgerHandle } from '../../store/open.js';
import { route, type Route } from '../http/routes.js';
import { LogGateway, type SmsGateway } from './gateway.js';
import { DlrSigner, DlrType, KannelGateway, decodeMessageId, dlrUrl } from './kannel.js';
import { OutboxSender, SENDER_DEFAULTS } from './sender.js';

export interface SmsModule extends ProductModule {
  readonly name: 'sms';
  readonly sender: OutboxSender;
  readonly gateway: SmsGateway;
  /** The dlr-url Kannel is given for a message (escapes unexpanded). */
  dlrUrl(message_id: string): string;
}

export const smsModule: ModuleFactory = async ({ handle, config, modules }) => {
  // The cutover kit opens after this module: its `sms` switch is looked up as the sender runs.
  const maintenance = () => (modules.get('cutover') as { maintenance?: { closing(service: string): { service: string } | undefined } } | undefined)?.maintenance;
  return openSms({ handle, config, paused: () => maintenance()?.closing('sms')?.service === 'sms' });
};

export async function openSms(options: { handle: LedgerHandle; config: Readonly<Config>; log?: Logger; paused?: () => boolean }): Promise<SmsModule> {
  const { handle, config } = options;
  const log = options.log ?? createLogger(config.log_level).child({ module: 'sms' });
  const signer = DlrSigner.open(config.data_dir);
  const base_url = config.sms_dlr_base_url || `http://${config.host}:${config.port}`;
  const urlFor = (message_id: string) => dlrUrl({ base_url, signer, message_id });
  const gateway: SmsGateway = config.sms_sender === 'kannel'
    ? new KannelGateway({ sendsms_url: config.kannel_sendsms_url, username: config.kannel_username, password: config.kannel_password, from: config.sms_from, timeout_ms: config.kannel_timeout_ms, dlr_url: urlFor })
    : new LogGateway(config.data_dir);
  const sender = new OutboxSender(handle, gateway, {
    rate_per_second: config.sms_rate_per_second, attempts_max: config.sms_attempts_max, backoff_ms: config.sms_backoff_ms, ...SENDER_DEFAULTS,
    paused: options.paused,
  }, log);
  sender.start();
  return {
    name: 'sms', sender, gateway, dlrUrl: urlFor,
    routes: () => smsRoutes({ handle, config, sender, signer }),
    close: () => sender.close(),
  };
}

const STATES: readonly MessageState[] = ['queued', 'submitted', 'delivered', 'failed'];
const MessageOutput = Type.Object({
  id: Type.String(),
  msisdn: Type.String(),
  text: Type.String(),
  language: Type.String(),
  kind: Type.String(),
  campaign: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union(STATES.map((state) => Type.Literal(state))),
  attempts: Type.Integer(),
  created_at: Type.String({ description: 'UTC, ISO 8601.' }),
  updated_at: Type.Optional(Type.String()),
  submitted_at: Type.Optional(Type.String()),
  accepted: Type.Optional(Type.Boolean({ description: 'Whether the gateway acknowledged the submit; false while its outcome is unknown.' })),
  next_attempt_at: Type.Optional(Type.String()),
  delivered_at: Type.Optional(Type.String()),
  dlr_type: Type.Optional(Type.Integer({ description: 'Kannel\'s last delivery report type: 1 delivered, 2 undelivered, 4 queued on SMSC, 8 accepted by SMSC, 16 rejected by SMSC.' })),
  gateway_id: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String({ description: 'Why it failed, or why it waits.' })),
});
const Totals = Type.Object({
  total: Type.Integer(), queued: Type.Integer(), submitted: Type.Integer(), delivered: Type.Integer(), failed: Type.Integer(),
});

const DLR_TYPES: ReadonlySet<number> = new Set(Object.values(DlrType));
/** Outbox messages listed per MSISDN at most, newest first. */
const MSISDN_LIST_MAX = 200;

function smsRoutes(context: { handle: LedgerHandle; config: Readonly<Config>; sender: OutboxSender; signer: DlrSigner }): Route[] {
  const { handle, sender, signer } = context;
  return [
    route({
      method: 'GET', url: '/sms/messages/:id', operationId: 'getSmsMessage', summary: 'One outbox message and where its delivery stands.', access: 'read',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      errors: ['sms_message_not_found'],
      success: [{ status: 200, description: 'The message as last recorded.', schema: MessageOutput }],
      async handle({ params }) {
        const message = await sender.message(params.id);
        if (message === undefined) throw new RequestError('sms_message_not_found');
        return { status: 200, body: message };
      },
    }),
    route({
      method: 'POST', url: '/sms/messages/:id/requeue', operationId: 'requeueSmsMessage',
      summary: 'Queue again a failed message, or a submitted one whose outcome is unknown (it may then reach the customer twice).', access: 'write', writes: true,
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      errors: ['sms_message_not_found', 'sms_requeue_refused'],
      success: [{ status: 200, description: 'Queued again.', schema: MessageOutput }],
      async handle({ params }) {
        return { status: 200, body: await sender.requeue(params.id) };
      },
    }),
    route({
      method: 'GET', url: '/sms/messages', operationId: 'listSmsMessages', summary: 'The messages sent to one MSISDN, newest first.', access: 'read',
      querystring: Type.Object({
        msisdn: Type.String({ minLength: 1, maxLength: 32 }),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MSISDN_LIST_MAX, default: 50 })),
      }, { additionalProperties: false }),
      errors: ['msisdn_invalid'],
      success: [{ status: 200, description: 'Up to `limit` messages.', schema: Type.Object({ msisdn: Type.String(), messages: Type.Array(MessageOutput), totals: Totals }) }],
      async handle({ query }) {
        const msisdn = requireMsisdn(query.msisdn);
        const { messages, totals } = await scan(handle, (message) => message.msisdn === msisdn);
        messages.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
        return { status: 200, body: { msisdn, messages: messages.slice(0, query.limit ?? 50), totals } };
      },
    }),
    route({
      method: 'GET', url: '/sms/campaigns/:campaign', operationId: 'getSmsCampaign', summary: 'How many of a campaign\'s messages are in each state.', access: 'read',
      params: Type.Object({ campaign: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
      success: [{ status: 200, description: 'Totals; all zero for a campaign with no messages.', schema: Type.Object({ campaign: Type.String(), totals: Totals }) }],
      async handle({ params }) {
        const { totals } = await scan(handle, (message) => message.campaign === params.campaign, false);
        return { status: 200, body: { campaign: params.campaign, totals } };
      },
    }),
    route({
      method: 'GET', url: '/sms/dlr', operationId: 'smsDeliveryReport',
      summary: 'Kannel\'s delivery-report callback (the dlr-url given with each message); signed per message, so no key.', access: 'public',
      querystring: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 400, description: 'The outbox message id, base64url.' }),
        sig: Type.String({ minLength: 1, maxLength: 64 }),
        type: Type.Integer({ minimum: 1, maximum: 16, description: 'Kannel\'s %d: 1, 2, 4, 8 or 16.' }),
        reply: Type.Optional(Type.String({ maxLength: 1000, description: 'Kannel\'s %A: the SMSC\'s answer (ACK/, NACK/reason...).' })),
      }, { additionalProperties: false }),
      errors: ['dlr_signature_invalid', 'sms_message_not_found'],
      success: [{ status: 200, description: 'Recorded (a late report for a settled message changes nothing).', schema: Type.Object({ id: Type.String(), state: Type.String() }) }],
      writes: true,
      async handle({ query }) {
        const id = decodeMessageId(query.id);
        if (id === undefined || !signer.verify(id, query.sig)) throw new RequestError('dlr_signature_invalid');
        if (!DLR_TYPES.has(query.type)) throw new RequestError('invalid_request', [{ in: 'querystring', path: '/type', message: 'Expected 1, 2, 4, 8 or 16' }]);
        const message = await sender.report(id, { type: query.type, reply: query.reply ?? '' });
        return { status: 200, body: { id, state: message.state } };
      },
    }),
  ];
}

/** Reads the whole outbox once: per-MSISDN and per-campaign questions are operator queries, not hot paths. */
async function scan(handle: LedgerHandle, wanted: (message: OutboxMessage) => boolean, keep = true) {
  const totals = { total: 0, queued: 0, submitted: 0, delivered: 0, failed: 0 };
  const messages: OutboxMessage[] = [];
  for await (const doc of handle.store.documents(OUTBOX)) {
    const message = JSON.parse(doc.value) as OutboxMessage;
    if (!wanted(message)) continue;
    totals.total++;
    totals[message.state]++;
    if (keep) messages.push(message);
  }
  return { messages, totals };
}
