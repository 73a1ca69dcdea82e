// Every text the USSD menus show, in English, Shona and Ndebele, chosen by the subscriber's
// language. `{name}` placeholders are filled by `say`. Service refusals use the codes' own
// sentences where a translation is listed here, else the registry's English sentence.
import type { Language } from '../../products/parties.js';

type Texts = Record<Language, string>;

export const TEXTS = {
  nav: { en: '0 Back 00 Home', sn: '0 Dzokera 00 Kumba', nd: '0 Emuva 00 Ekhaya' },
  title_151: { en: 'Mobile Money', sn: 'Mari nharembozha', nd: 'Imali ocingweni' },
  title_405: { en: 'Airtime', sn: 'Airtime', nd: 'I-airtime' },
  title_171: { en: 'Bundles', sn: 'Mabundle', nd: 'Amabundle' },
  invalid_choice: { en: 'Invalid choice.', sn: 'Sarudzo isiriyo.', nd: 'Ukukhetha akulunganga.' },
  invalid_amount: { en: 'Invalid amount.', sn: 'Mari isiriyo.', nd: 'Imali ayilunganga.' },
  invalid_number: { en: 'Invalid number.', sn: 'Nhamba isiriyo.', nd: 'Inombolo ayilunganga.' },
  invalid_pin: { en: 'A PIN is 4 to 6 digits.', sn: 'PIN ine nhamba 4 kusvika 6.', nd: 'IPIN ilezinombolo ezi-4 kuya ku-6.' },
  pins_differ: { en: 'The new PINs differ.', sn: 'MaPIN matsva haaenderane.', nd: 'Ama-PIN amatsha awafanani.' },
  not_registered: { en: 'This number is not registered for mobile money.', sn: 'Nhamba iyi haina kunyoreswa pamari nharembozha.', nd: 'Inombolo le kayibhaliswanga emalini yocingo.' },
  recipient_unknown: { en: 'That number is not registered.', sn: 'Nhamba iyoyo haina kunyoreswa.', nd: 'Inombolo leyo kayibhaliswanga.' },
  agent_unknown: { en: 'No agent has that code.', sn: 'Hapana agent ine kodhi iyoyo.', nd: 'Akula-agent elekhodi leyo.' },
  merchant_unknown: { en: 'No merchant has that code.', sn: 'Hapana mutengesi ane kodhi iyoyo.', nd: 'Akulamthengisi olekhodi leyo.' },
  unavailable: { en: 'This service is not available now. Please try later.', sn: 'Basa iri harisi kuwanikwa izvozvi. Edzai gare gare.', nd: 'Lolu sizo kalutholakali khathesi. Zama ngesinye isikhathi.' },
  expired: { en: 'Your session timed out. Nothing was changed. Dial again.', sn: 'Nguva yapera. Hapana chachinja. Fonai zvakare.', nd: 'Isikhathi siphelile. Akukho okuguqukileyo. Phinda ushaye.' },
  ended: { en: 'This session has ended. Dial again.', sn: 'Chikamu ichi chapera. Fonai zvakare.', nd: 'Lesi sikhathi siphelile. Phinda ushaye.' },
  enter_number: { en: 'Enter recipient number', sn: 'Isa nhamba yaunotumira', nd: 'Faka inombolo yomamukeli' },
  enter_amount: { en: 'Enter amount ({currency})', sn: 'Isa mari ({currency})', nd: 'Faka imali ({currency})' },
  choose_currency: { en: 'Currency:\n1 USD\n2 ZWG', sn: 'Mari:\n1 USD\n2 ZWG', nd: 'Uhlobo lwemali:\n1 USD\n2 ZWG' },
  airtime_for: { en: 'Buy for:\n1 My number\n2 Other number', sn: 'Tengera:\n1 Nhamba yangu\n2 Imwe nhamba', nd: 'Thengela:\n1 Inombolo yami\n2 Enye inombolo' },
  enter_agent: { en: 'Enter agent code', sn: 'Isa kodhi ye agent', nd: 'Faka ikhodi ye-agent' },
  enter_merchant: { en: 'Enter merchant code', sn: 'Isa kodhi yemutengesi', nd: 'Faka ikhodi yomthengisi' },
  choose_bank: { en: 'Choose bank:', sn: 'Sarudza bhangi:', nd: 'Khetha ibhange:' },
  no_banks: { en: 'No bank is available.', sn: 'Hapana bhangi riripo.', nd: 'Akulabhange elikhona.' },
  enter_pin: { en: 'Enter PIN', sn: 'Isa PIN', nd: 'Faka iPIN' },
  pin_to_confirm: { en: 'Enter PIN to confirm', sn: 'Isa PIN kubvuma', nd: 'Faka iPIN ukuvuma' },
  confirm: { en: '1 Confirm', sn: '1 Bvuma', nd: '1 Vuma' },
  enter_old_pin: { en: 'Enter current PIN', sn: 'Isa PIN yauinayo', nd: 'Faka iPIN yakho yamanje' },
  enter_new_pin: { en: 'Enter new PIN (4-6 digits)', sn: 'Isa PIN itsva (4-6)', nd: 'Faka iPIN entsha (4-6)' },
  repeat_new_pin: { en: 'Repeat new PIN', sn: 'Dzokorora PIN itsva', nd: 'Phinda iPIN entsha' },
  enter_voucher: { en: 'Enter the 16-digit voucher PIN', sn: 'Isa nhamba 16 dzekadhi', nd: 'Faka izinombolo ezi-16 zekhadi' },
  choose_bundle: { en: 'Choose a bundle:', sn: 'Sarudza bundle:', nd: 'Khetha ibundle:' },
  no_bundles: { en: 'No bundles on sale.', sn: 'Hapana mabundle ari kutengeswa.', nd: 'Akulamabundle athengiswayo.' },
  pay_from: { en: 'Pay with:\n1 Airtime\n2 Wallet', sn: 'Bhadhara ne:\n1 Airtime\n2 Wallet', nd: 'Bhadala nge:\n1 Airtime\n2 Wallet' },
  fee: { en: 'Fee: {fee}', sn: 'Mubhadharo: {fee}', nd: 'Inkokhelo: {fee}' },
  confirm_send: { en: 'Send {amount} to {name} {msisdn}', sn: 'Tumira {amount} kuna {name} {msisdn}', nd: 'Thumela {amount} ku {name} {msisdn}' },
  confirm_airtime: { en: 'Buy {amount} airtime for {msisdn}', sn: 'Tenga airtime ye {amount} ye {msisdn}', nd: 'Thenga i-airtime ka {amount} ka {msisdn}' },
  confirm_merchant: { en: 'Pay {amount} to {name} ({code})', sn: 'Bhadhara {amount} kuna {name} ({code})', nd: 'Bhadala {amount} ku {name} ({code})' },
  confirm_cash_out: { en: 'Cash out {amount} at {name} ({code})', sn: 'Bvisa {amount} kuna {name} ({code})', nd: 'Khipha {amount} ku {name} ({code})' },
  confirm_bank_in: { en: 'Move {amount} from {name} to your wallet', sn: 'Tamisa {amount} kubva ku {name} kuenda kuwallet', nd: 'Susa {amount} ku {name} uyise ku-wallet' },
  confirm_bank_out: { en: 'Move {amount} from your wallet to {name}', sn: 'Tamisa {amount} kubva kuwallet kuenda ku {name}', nd: 'Susa {amount} ku-wallet uyise ku {name}' },
  confirm_bundle: { en: 'Buy {name} for {amount} from {source}', sn: 'Tenga {name} ne {amount} kubva ku {source}', nd: 'Thenga {name} nge {amount} ku {source}' },
  done_send: { en: 'Sent {amount} to {name}. Fee {fee}. Balance {balance}. Ref {ref}', sn: 'Matumira {amount} kuna {name}. Mubhadharo {fee}. Mari yasara {balance}. Ref {ref}', nd: 'Uthumele {amount} ku {name}. Inkokhelo {fee}. Imali eseleyo {balance}. Ref {ref}' },
  done_airtime: { en: 'Bought {amount} airtime for {msisdn}. Balance {balance}. Ref {ref}', sn: 'Matenga airtime ye {amount} ye {msisdn}. Mari yasara {balance}. Ref {ref}', nd: 'Uthenge i-airtime ka {amount} ka {msisdn}. Imali eseleyo {balance}. Ref {ref}' },
  done_merchant: { en: 'Paid {amount} to {name}. Fee {fee}. Balance {balance}. Ref {ref}', sn: 'Mabhadhara {amount} kuna {name}. Mubhadharo {fee}. Mari yasara {balance}. Ref {ref}', nd: 'Ubhadale {amount} ku {name}. Inkokhelo {fee}. Imali eseleyo {balance}. Ref {ref}' },
  done_cash_out: { en: 'Cash-out of {amount} at {name} is reserved until {until}. The agent completes it. Ref {ref}', sn: 'Kubvisa {amount} kuna {name} kwachengeterwa kusvika {until}. Agent achapedzisa. Ref {ref}', nd: 'Ukukhipha {amount} ku {name} kugcinwe kuze kube ngu {until}. I-agent izaqeda. Ref {ref}' },
  done_bank: { en: 'Done: {amount} moved. Balance {balance}. Ref {ref}', sn: 'Zvaitwa: {amount} yatamiswa. Mari yasara {balance}. Ref {ref}', nd: 'Kwenziwe: {amount} isusiwe. Imali eseleyo {balance}. Ref {ref}' },
  done_pin: { en: 'Your PIN was changed.', sn: 'PIN yenyu yachinjwa.', nd: 'IPIN yakho iguqulwe.' },
  done_voucher: { en: 'Recharged {amount}. Airtime balance {balance}.', sn: 'Maisa {amount}. Airtime yasara {balance}.', nd: 'Ufake {amount}. I-airtime eseleyo {balance}.' },
  done_bundle: { en: 'You bought {name}. {available} {unit} until {until}.', sn: 'Matenga {name}. {available} {unit} kusvika {until}.', nd: 'Uthenge {name}. {available} {unit} kuze kube ngu {until}.' },
  balance_title: { en: 'Your balance:', sn: 'Mari yenyu:', nd: 'Imali yakho:' },
  statement_title: { en: 'Last transactions:', sn: 'Zvichangoitika:', nd: 'Okwenzeke muva:' },
  statement_empty: { en: 'No transactions yet.', sn: 'Hapana zvakaitika.', nd: 'Akukho okwenzekileyo.' },
  airtime_title: { en: 'Airtime balance:', sn: 'Airtime yasara:', nd: 'I-airtime eseleyo:' },
  bundles_title: { en: 'Your bundles:', sn: 'Mabundle enyu:', nd: 'Amabundle akho:' },
  bundles_empty: { en: 'You have no bundles.', sn: 'Hamuna mabundle.', nd: 'Awulamabundle.' },
  wallet: { en: 'wallet', sn: 'wallet', nd: 'i-wallet' },
  airtime: { en: 'airtime', sn: 'airtime', nd: 'i-airtime' },
} as const satisfies Record<string, Texts>;

export type TextKey = keyof typeof TEXTS;

export function say(language: Language, key: TextKey, values: Record<string, string> = {}): string {
  return TEXTS[key][language].replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** Refusals customers meet most, translated; others fall back to the registry's English sentence. */
const REFUSALS: Record<string, Texts> = {
  pin_wrong: { en: 'Wrong PIN. Your account locks after 3 wrong PINs in a row.', sn: 'PIN isiriyo. Akaundi inovharwa mushure memaPIN 3 asiriwo.', nd: 'IPIN ayilunganga. I-akhawunti iyavalwa ngemva kwama-PIN ama-3 angalunganga.' },
  pin_locked: { en: 'Your PIN is locked. Please call customer care.', sn: 'PIN yenyu yavharwa. Fonerai vanobatsira vatengi.', nd: 'IPIN yakho ivaliwe. Sicela ufonele abasizi bamakhasimende.' },
  pin_not_set: { en: 'Set your PIN first.', sn: 'Tangai maisa PIN.', nd: 'Qala ufake iPIN.' },
  insufficient_funds: { en: 'You do not have enough money for this (amount plus fee).', sn: 'Hamuna mari yakakwana (mari nemubhadharo).', nd: 'Awulayo imali eyaneleyo (imali lenkokhelo).' },
  insufficient_airtime: { en: 'There is not enough airtime for that.', sn: 'Hamuna airtime yakakwana.', nd: 'Awulayo i-airtime eyaneleyo.' },
  insufficient_wallet_balance: { en: 'There is not enough money in the wallet for that.', sn: 'Hamuna mari yakakwana muwallet.', nd: 'Awulayo imali eyaneleyo ku-wallet.' },
  voucher_used: { en: 'That voucher has already been used.', sn: 'Kadhi iri rakatoshandiswa.', nd: 'Ikhadi leli selisetshenzisiwe.' },
  voucher_not_found: { en: 'No voucher has that PIN. Check the digits.', sn: 'Hapana kadhi rine nhamba idzodzo.', nd: 'Akulakhadi elinezinombolo lezo.' },
  voucher_expired: { en: 'That voucher has expired.', sn: 'Kadhi iri rapera nguva.', nd: 'Ikhadi leli seliphelelwe yisikhathi.' },
  exceeds_daily_limit: { en: 'This would pass your daily limit.', sn: 'Izvi zvinopfuura muganho wezuva.', nd: 'Lokhu kungedlula umkhawulo wosuku.' },
};

export function refusalText(language: Language, code: string, fallback: string): string {
  return REFUSALS[code]?.[language] ?? fallback;
}
