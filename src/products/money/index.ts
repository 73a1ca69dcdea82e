// The mobile money platform module (`modules.get('money')`): opens MoneyModule over the ledger
// with the configured tariff and adds its routes. Other modules and channels use the service
// API directly: see module.ts.
import type { ModuleFactory, ProductModule } from '../../platform.js';
import { MoneyModule } from './module.js';
import { DEFAULT_TARIFF_FILE, Tariff } from './tariff.js';

export { MoneyModule, partyAccounts } from './module.js';
export { legacyPinDocument } from './pins.js';
export type { MoneyTransaction } from './records.js';

export const openMoney: ModuleFactory = async ({ handle, config }): Promise<ProductModule> => {
  const tariff = Tariff.load(config.tariff_file === '' ? DEFAULT_TARIFF_FILE : config.tariff_file);
  return MoneyModule.open(handle, { tariff });
};
