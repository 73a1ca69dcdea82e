// Customer notification texts, in the subscriber's language (English, Shona, Ndebele). They are
// read as SMS on feature phones: short, amounts with their currency, times in Harare, the
// reference last so customer care can find the transaction.
import { formatAmount } from '../../ledger/amount.js';
import type { Language } from '../parties.js';
import { HARARE_OFFSET_MS } from '../../time.js';

export type NoticeKind =
  | 'sent' | 'received' | 'cash_in' | 'cash_out' | 'merchant_payment' | 'merchant_received'
  | 'bank_to_wallet' | 'wallet_to_bank' | 'airtime' | 'airtime_received' | 'reversal';

export interface Notice {
  kind: NoticeKind;
  /** Minor units of `currency` (or of the airtime asset for airtime_received, scale 4). */
  amount: bigint;
  currency: string;
  scale: number;
  /** Who or what is on the other side, as shown: a masked number, a name, a merchant code. */
  counterparty: string;
  fee: bigint;
  /** The recipient's available balance after the transaction, same currency. */
  balance: bigint;
  reference: string;
  /** Harare local time, `23/11/26 14:02`. */
  at: string;
}

type Template = (n: Notice, money: (amount: bigint) => string) => string;

const EN: Record<NoticeKind, Template> = {
  sent: (n, m) => `You have sent ${m(n.amount)} to ${n.counterparty} on ${n.at}. Fee ${m(n.fee)}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  received: (n, m) => `You have received ${m(n.amount)} from ${n.counterparty} on ${n.at}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  cash_in: (n, m) => `Cash-in of ${m(n.amount)} at agent ${n.counterparty} on ${n.at}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  cash_out: (n, m) => `Cash-out of ${m(n.amount)} at agent ${n.counterparty} on ${n.at}. Fee ${m(n.fee)}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  merchant_payment: (n, m) => `You have paid ${m(n.amount)} to ${n.counterparty} on ${n.at}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  merchant_received: (n, m) => `Payment of ${m(n.amount)} received from ${n.counterparty} on ${n.at}. Fee ${m(n.fee)}. Ref ${n.reference}`,
  bank_to_wallet: (n, m) => `You have received ${m(n.amount)} from ${n.counterparty} on ${n.at}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  wallet_to_bank: (n, m) => `You have sent ${m(n.amount)} to ${n.counterparty} on ${n.at}. Fee ${m(n.fee)}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  airtime: (n, m) => `You have bought ${m(n.amount)} airtime for ${n.counterparty} on ${n.at}. New balance ${m(n.balance)}. Ref ${n.reference}`,
  airtime_received: (n, m) => `You have received ${m(n.amount)} airtime from ${n.counterparty} on ${n.at}. Ref ${n.reference}`,
  reversal: (n, m) => `Transaction ${n.counterparty} has been reversed: ${m(n.amount)}. New balance ${m(n.balance)}. Ref ${n.reference}`,
};

const SN: Record<NoticeKind, Template> = {
  sent: (n, m) => `Matumira ${m(n.amount)} ku ${n.counterparty} musi ${n.at}. Mubhadharo ${m(n.fee)}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  received: (n, m) => `Mawana ${m(n.amount)} kubva ku ${n.counterparty} musi ${n.at}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  cash_in: (n, m) => `Maisa ${m(n.amount)} kuna agent ${n.counterparty} musi ${n.at}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  cash_out: (n, m) => `Mabvisa ${m(n.amount)} kuna agent ${n.counterparty} musi ${n.at}. Mubhadharo ${m(n.fee)}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  merchant_payment: (n, m) => `Mabhadhara ${m(n.amount)} ku ${n.counterparty} musi ${n.at}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  merchant_received: (n, m) => `Mabhadharwa ${m(n.amount)} na ${n.counterparty} musi ${n.at}. Mubhadharo ${m(n.fee)}. Ref ${n.reference}`,
  bank_to_wallet: (n, m) => `Mawana ${m(n.amount)} kubva ku ${n.counterparty} musi ${n.at}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  wallet_to_bank: (n, m) => `Matumira ${m(n.amount)} ku ${n.counterparty} musi ${n.at}. Mubhadharo ${m(n.fee)}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  airtime: (n, m) => `Matenga airtime ye ${m(n.amount)} ye ${n.counterparty} musi ${n.at}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
  airtime_received: (n, m) => `Mawana airtime ye ${m(n.amount)} kubva ku ${n.counterparty} musi ${n.at}. Ref ${n.reference}`,
  reversal: (n, m) => `Transaction ${n.counterparty} yadzoserwa: ${m(n.amount)}. Mari yasara ${m(n.balance)}. Ref ${n.reference}`,
};

const ND: Record<NoticeKind, Template> = {
  sent: (n, m) => `Uthumele ${m(n.amount)} ku ${n.counterparty} ngo ${n.at}. Inhlawulo ${m(n.fee)}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  received: (n, m) => `Wamukele ${m(n.amount)} kusuka ku ${n.counterparty} ngo ${n.at}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  cash_in: (n, m) => `Ufake ${m(n.amount)} ku agent ${n.counterparty} ngo ${n.at}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  cash_out: (n, m) => `Ukhuphe ${m(n.amount)} ku agent ${n.counterparty} ngo ${n.at}. Inhlawulo ${m(n.fee)}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  merchant_payment: (n, m) => `Ubhadale ${m(n.amount)} ku ${n.counterparty} ngo ${n.at}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  merchant_received: (n, m) => `Ubhadalwe ${m(n.amount)} ngu ${n.counterparty} ngo ${n.at}. Inhlawulo ${m(n.fee)}. Ref ${n.reference}`,
  bank_to_wallet: (n, m) => `Wamukele ${m(n.amount)} kusuka ku ${n.counterparty} ngo ${n.at}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  wallet_to_bank: (n, m) => `Uthumele ${m(n.amount)} ku ${n.counterparty} ngo ${n.at}. Inhlawulo ${m(n.fee)}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  airtime: (n, m) => `Uthenge i-airtime ka ${m(n.amount)} ka ${n.counterparty} ngo ${n.at}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
  airtime_received: (n, m) => `Wamukele i-airtime ka ${m(n.amount)} kusuka ku ${n.counterparty} ngo ${n.at}. Ref ${n.reference}`,
  reversal: (n, m) => `I-transaction ${n.counterparty} ibuyisiwe: ${m(n.amount)}. Imali eseleyo ${m(n.balance)}. Ref ${n.reference}`,
};

const TEMPLATES: Record<Language, Record<NoticeKind, Template>> = { en: EN, sn: SN, nd: ND };

export function noticeText(language: Language, notice: Notice): string {
  const money = (amount: bigint) => `${notice.currency} ${formatAmount(amount, notice.scale)}`;
  return (TEMPLATES[language] ?? EN)[notice.kind](notice, money);
}

/** `23/11/26 14:02` in Harare (UTC+2 all year). */
export function shortHarare(date: Date): string {
  return harareMinute(date).short;
}

/** The Harare calendar day and month of an instant: the periods limits are counted in. */
export function harareDay(date: Date): string {
  return harareMinute(date).day;
}

export function harareMonth(date: Date): string {
  return harareMinute(date).month;
}

const MS_PER_MINUTE = 60_000;
/**
 * The last minute formatted: every send asks for its day and month (limits) and its time (two
 * notices), nearly always within the minute before, and formatting a date costs more than the rest.
 */
let formatted = { minute: NaN, short: '', day: '', month: '' };

function harareMinute(date: Date): { short: string; day: string; month: string } {
  const minute = Math.floor(date.getTime() / MS_PER_MINUTE);
  if (minute === formatted.minute) return formatted;
  const local = new Date(minute * MS_PER_MINUTE + HARARE_OFFSET_MS).toISOString();
  formatted = {
    minute,
    short: `${local.slice(8, 10)}/${local.slice(5, 7)}/${local.slice(2, 4)} ${local.slice(11, 16)}`,
    day: local.slice(0, 10),
    month: local.slice(0, 7),
  };
  return formatted;
}
