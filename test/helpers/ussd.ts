// A USSD aggregator as tests drive it: one session per dial, each input appended to `text`
// (joined by `*`) and POSTed form-encoded to /ussd the way Africa's Talking does. Every reply
// is kept so a test can check the 182-character screen limit over a whole journey.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export const SCREEN_MAX = 182;

export interface UssdSession {
  sessionId: string;
  /** Dials (no input) or answers the current screen; the reply without checking. */
  send(input?: string): Promise<string>;
  /** The last request again, as a gateway that timed out would resend it. */
  resend(): Promise<string>;
  replies: string[];
}

export function dial(app: FastifyInstance, options: { msisdn: string; code: string; sessionId?: string }): UssdSession {
  const sessionId = options.sessionId ?? `ATUid_${randomUUID().replace(/-/g, '')}`;
  const inputs: string[] = [];
  const replies: string[] = [];
  let lastText = '';
  const post = async (text: string) => {
    const response = await app.inject({
      method: 'POST', url: '/ussd', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ sessionId, serviceCode: options.code, phoneNumber: options.msisdn, networkCode: '64804', text }).toString(),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    assert.match(response.body, /^(CON|END) /, response.body);
    assert.ok(response.body.length - 4 <= SCREEN_MAX, `screen of ${response.body.length - 4} characters:\n${response.body}`);
    replies.push(response.body);
    return response.body;
  };
  return {
    sessionId,
    replies,
    async send(input?: string) {
      if (input !== undefined) inputs.push(input);
      lastText = inputs.join('*');
      return post(lastText);
    },
    resend: () => post(lastText),
  };
}

/** Runs the inputs in order and answers the last reply. */
export async function journey(session: UssdSession, inputs: readonly string[]): Promise<string> {
  let reply = await session.send();
  for (const input of inputs) reply = await session.send(input);
  return reply;
}
