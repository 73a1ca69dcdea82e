// Prepaid's HTTP routes, in the shared route table (documented in /openapi.json with their codes).
// Amounts and units are decimal strings; times are RFC 3339 or nanoseconds in, Harare time out.
import { Type, type TSchema } from '@sinclair/typebox';
import { route, type Route } from '../../channels/http/routes.js';
import { RequestError } from '../../errors/registry.js';
import { parseTimestamp } from '../../time.js';
import type { PrepaidModule } from './module.js';

const Digits = Type.String({ pattern: '^(0|[1-9][0-9]{0,18})$', description: 'A decimal string of digits in the asset\'s smallest unit.' });
const Msisdn = Type.String({ minLength: 1, maxLength: 32, description: 'A mobile number, e.g. 0772123456 or +263772123456.' });
const Currency = Type.Union([Type.Literal('USD'), Type.Literal('ZWG')]);
const ServiceSchema = Type.Union([Type.Literal('data'), Type.Literal('voice'), Type.Literal('sms')]);
const Timestamp = Type.String({ minLength: 1, maxLength: 40, description: 'RFC 3339 date-time or integer nanoseconds since the epoch.' });
const WindowSchema = Type.Object({ from: Type.String({ description: 'HH:MM, Harare time' }), to: Type.String({ description: 'HH:MM, Harare time; before `from` wraps past midnight' }) }, { additionalProperties: false });
const SessionId = Type.String({ minLength: 1, maxLength: 256, description: 'The Diameter Session-Id.' });
const RequestNumber = Type.Integer({ minimum: 0, maximum: 4_294_967_295, description: 'CC-Request-Number: 0 on initial, then increasing; a repeat gets the same answer.' });
const Anything = Type.Object({}, { additionalProperties: true });

const BundleBody = Type.Object({
  code: Type.String({ maxLength: 24, description: 'Upper-case letters, digits, dashes and underscores.' }),
  name: Type.String({ maxLength: 40 }),
  service: ServiceSchema,
  price: Type.String({ description: 'In the currency\'s smallest unit (cents); paid as 100 times that in airtime units.' }),
  currency: Currency,
  units: Type.String({ description: 'KB for data, seconds for voice, messages for SMS.' }),
  validity_s: Type.Integer({ description: 'Seconds from purchase to expiry: 3600 to 31622400.' }),
  window: Type.Optional(Type.Union([WindowSchema, Type.Null()])),
  active: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

function time(text: string): bigint {
  const ns = parseTimestamp(text);
  if (ns === undefined) throw new RequestError('timestamp_invalid');
  return ns;
}

function ok(body: unknown, status = 200) {
  return { status, body };
}

function success(description: string, schema: TSchema = Anything, status = 200) {
  return [{ status, description, schema }];
}

export function prepaidRoutes(prepaid: PrepaidModule): Route[] {
  return [...voucherRoutes(prepaid), ...bundleRoutes(prepaid), ...chargingRoutes(prepaid)];
}

function voucherRoutes(prepaid: PrepaidModule): Route[] {
  return [
    route({
      method: 'POST', url: '/prepaid/vouchers/batches', operationId: 'createVoucherBatch', access: 'write', writes: true,
      summary: 'Create a voucher batch; the PINs are written once to a CSV file (mode 0600) in the data directory, for the printer.',
      body: Type.Object({ face_value: Digits, currency: Currency, count: Type.Integer({ minimum: 1 }), expires_at: Timestamp }, { additionalProperties: false }),
      errors: ['voucher_batch_invalid', 'timestamp_invalid'], success: success('The batch, its serial range and the file holding the PINs.', Anything, 201),
      async handle({ body }) {
        return ok(await prepaid.createVoucherBatch({ face_value: BigInt(body.face_value), currency: body.currency, count: body.count, expires_at: time(body.expires_at) }), 201);
      },
    }),
    route({
      method: 'POST', url: '/prepaid/vouchers/redeem', operationId: 'redeemVoucher', access: 'write', writes: true,
      summary: 'Redeem a voucher PIN for a line: its face value as airtime, once.',
      body: Type.Object({ msisdn: Msisdn, pin: Type.String({ maxLength: 32 }) }, { additionalProperties: false }),
      errors: ['msisdn_invalid', 'voucher_pin_invalid', 'voucher_not_found', 'voucher_used', 'voucher_expired', 'voucher_blocked', 'voucher_tries_exceeded'],
      success: success('Credited: the amount, the airtime account and its balance after.'),
      async handle({ body }) {
        return ok(await prepaid.redeemVoucher(body));
      },
    }),
    route({
      method: 'GET', url: '/prepaid/vouchers/:serial', operationId: 'getVoucher', access: 'read',
      summary: 'A voucher by serial: state (new, used, expired, blocked), face value, who used it and when.',
      params: Type.Object({ serial: Type.String({ minLength: 1, maxLength: 40 }) }), errors: ['voucher_not_found'],
      success: success('The voucher (never its PIN).'),
      async handle({ params }) {
        return ok(await prepaid.voucher(params.serial));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/vouchers/:serial/block', operationId: 'blockVoucher', access: 'write', writes: true,
      summary: 'Block an unused voucher (stolen or misprinted).',
      params: Type.Object({ serial: Type.String({ minLength: 1, maxLength: 40 }) }), errors: ['voucher_not_found', 'voucher_used'],
      success: success('The voucher, now blocked.'),
      async handle({ params }) {
        return ok(await prepaid.blockVoucher(params.serial));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/vouchers/:serial/unblock', operationId: 'unblockVoucher', access: 'write', writes: true,
      summary: 'Unblock a voucher (the card was found, or blocked by mistake): it gets back the state it had.',
      params: Type.Object({ serial: Type.String({ minLength: 1, maxLength: 40 }) }), errors: ['voucher_not_found'],
      success: success('The voucher, as it was before it was blocked.'),
      async handle({ params }) {
        return ok(await prepaid.unblockVoucher(params.serial));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/vouchers/import', operationId: 'importLegacyVoucher', access: 'write', writes: true,
      summary: 'Migration: one legacy voucher, its plaintext PIN hashed on the way in. Idempotent by serial.',
      body: Type.Object({
        serial: Type.String({ maxLength: 40 }), pin: Type.String({ maxLength: 32 }), face_value: Digits, currency: Currency,
        status: Type.Union([Type.Literal('NEW'), Type.Literal('USED'), Type.Literal('EXPIRED')]),
        used_by: Type.Union([Msisdn, Type.Null()]), used_at: Type.Union([Timestamp, Type.Null()]), expires_at: Timestamp,
      }, { additionalProperties: false }),
      errors: ['voucher_import_invalid', 'msisdn_invalid', 'timestamp_invalid'],
      success: success('ok, or exists when the serial is already there.'),
      async handle({ body }) {
        const result = await prepaid.importLegacyVoucher({
          ...body, face_value: BigInt(body.face_value), used_at: body.used_at === null ? null : time(body.used_at), expires_at: time(body.expires_at),
        });
        return ok({ result, serial: body.serial });
      },
    }),
  ];
}

function bundleRoutes(prepaid: PrepaidModule): Route[] {
  return [
    route({
      method: 'GET', url: '/prepaid/bundles', operationId: 'listBundles', access: 'read', summary: 'The bundle catalog (retired ones too with ?all=true).',
      querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      success: success('Bundles by code.'),
      async handle({ query }) {
        return ok({ bundles: prepaid.listBundles({ all: query.all }) });
      },
    }),
    route({
      method: 'POST', url: '/prepaid/bundles', operationId: 'putBundle', access: 'write', writes: true,
      summary: 'Add or replace a catalog bundle (lots already sold keep their terms).', body: BundleBody, errors: ['bundle_invalid'],
      success: success('The bundle as stored.'),
      async handle({ body }) {
        return ok(await prepaid.putBundle({ ...body, window: body.window ?? null }));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/bundles/:code/retire', operationId: 'retireBundle', access: 'write', writes: true,
      summary: 'Stop selling a bundle.', params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 24 }) }), errors: ['bundle_not_found'],
      success: success('The bundle, now inactive.'),
      async handle({ params }) {
        return ok(await prepaid.retireBundle(params.code));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/bundles/purchase', operationId: 'buyBundle', access: 'write', writes: true,
      summary: 'Buy a bundle for a line from its airtime or its wallet: price debited, units credited as a new lot with its own expiry. Idempotent by reference.',
      body: Type.Object({
        msisdn: Msisdn, bundle_code: Type.String({ maxLength: 24 }), pay_from: Type.Union([Type.Literal('airtime'), Type.Literal('wallet')]),
        reference: Type.String({ minLength: 1, maxLength: 48, description: 'The purchase\'s idempotency key: letters, digits, dots, dashes, underscores.' }),
      }, { additionalProperties: false }),
      errors: ['msisdn_invalid', 'bundle_not_found', 'bundle_unavailable', 'bundle_reference_conflict', 'insufficient_airtime', 'insufficient_wallet_balance', 'wallet_unavailable'],
      success: [
        { status: 201, description: 'Bought: the new lot and what was paid.', schema: Anything },
        { status: 200, description: 'A retry of a purchase already made: the same lot.', schema: Anything },
      ],
      async handle({ body }) {
        const bought = await prepaid.buyBundle(body);
        return ok(bought, bought.result === 'ok' ? 201 : 200);
      },
    }),
    route({
      method: 'GET', url: '/prepaid/lines/:msisdn/balances', operationId: 'getLineBalances', access: 'read',
      summary: 'A line\'s main airtime per currency and its bundle lots usable now, each as available (posted minus reserved) and reserved.',
      params: Type.Object({ msisdn: Msisdn }), errors: ['msisdn_invalid'],
      success: success('Airtime and bundles.'),
      async handle({ params }) {
        return ok(await prepaid.balances(params.msisdn));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/buckets/import', operationId: 'importLegacyBucket', access: 'write', writes: true,
      summary: 'Migration: one legacy prepaid bucket (airtime, or a data/voice/SMS bundle with name and expiry). Idempotent by id.',
      body: Type.Object({
        id: Type.String({ maxLength: 48 }), msisdn: Msisdn, kind: Type.Union([Type.Literal('airtime'), ServiceSchema]), amount: Digits,
        currency: Type.Optional(Currency), bundle_name: Type.Optional(Type.String({ maxLength: 40 })), expires_at: Type.Optional(Timestamp),
        window: Type.Optional(Type.Union([WindowSchema, Type.Null()])),
      }, { additionalProperties: false }),
      errors: ['legacy_bucket_invalid', 'msisdn_invalid', 'timestamp_invalid'],
      success: success('ok, or exists when the bucket was imported before.'),
      async handle({ body }) {
        const result = await prepaid.importLegacyBucket({ ...body, amount: BigInt(body.amount), expires_at: body.expires_at === undefined ? undefined : time(body.expires_at) });
        return ok({ result, id: body.id });
      },
    }),
  ];
}

function chargingRoutes(prepaid: PrepaidModule): Route[] {
  const Units = Type.Optional(Digits);
  return [
    route({
      method: 'POST', url: '/prepaid/charging/initial', operationId: 'chargingInitial', access: 'write', writes: true,
      summary: 'Credit control, initial: reserve units for a service (bundles first, then airtime at the tariff).',
      body: Type.Object({ session_id: SessionId, request_number: RequestNumber, msisdn: Msisdn, service: ServiceSchema, requested_units: Units }, { additionalProperties: false }),
      errors: ['msisdn_invalid', 'credit_limit_reached', 'charging_request_out_of_order'],
      success: success('The grant: units, validity seconds, final-unit indication, where it is reserved.'),
      async handle({ body }) {
        return ok(await prepaid.chargingInitial({ ...body, requested_units: body.requested_units === undefined ? undefined : BigInt(body.requested_units) }));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/charging/update', operationId: 'chargingUpdate', access: 'write', writes: true,
      summary: 'Credit control, update: commit the units used, replace the reservation with a new grant.',
      body: Type.Object({ session_id: SessionId, request_number: RequestNumber, used_units: Digits, requested_units: Units }, { additionalProperties: false }),
      errors: ['session_not_found', 'session_expired', 'charging_request_out_of_order'],
      success: success('Units committed and the new grant (0 with final_unit when funds ran out).'),
      async handle({ body }) {
        return ok(await prepaid.chargingUpdate({ ...body, used_units: BigInt(body.used_units), requested_units: body.requested_units === undefined ? undefined : BigInt(body.requested_units) }));
      },
    }),
    route({
      method: 'POST', url: '/prepaid/charging/terminate', operationId: 'chargingTerminate', access: 'write', writes: true,
      summary: 'Credit control, terminate: commit the final usage, release the rest.',
      body: Type.Object({ session_id: SessionId, request_number: RequestNumber, used_units: Digits }, { additionalProperties: false }),
      errors: ['session_not_found', 'session_expired', 'charging_request_out_of_order'],
      success: success('Units committed; nothing is reserved any more.'),
      async handle({ body }) {
        return ok(await prepaid.chargingTerminate({ ...body, used_units: BigInt(body.used_units) }));
      },
    }),
  ];
}
