// What prepaid (and the channels) need from mobile money, without depending on its insides:
// the mobile money module implements this; prepaid finds it among the platform's modules
// (`modules.get('money')`) and pays from the wallet only when it is there.
import type { Currency } from './accounts.js';
import type { Msisdn } from './msisdn.js';
import type { Party } from './parties.js';

export interface WalletDirectory {
  /** The active subscriber holding this line, if exactly one does. */
  subscriberOf(msisdn: Msisdn): Party | undefined;
  /** The ledger account id of that subscriber's wallet in `currency` (every subscriber has one per currency from registration). */
  walletOf(msisdn: Msisdn, currency: Currency): string | undefined;
  /**
   * Checks the subscriber's PIN (slow hash; call outside the writer). Throws RequestError
   * `pin_wrong` (with tries left), `pin_locked` or `pin_not_set`; counts failures and locks as
   * the PIN rules say.
   */
  verifyPin(msisdn: Msisdn, pin: string): Promise<void>;
}
