// An asset is what a transfer moves: a currency or a prepaid unit. Its scale says how many
// decimal places its smallest unit has (USD 2: cents; AIRTIME_USD 4: hundredths of a cent).
export interface Asset {
  readonly code: string;
  readonly scale: number;
  readonly name: string;
}

export const ASSET_CODE = /^[A-Z][A-Z0-9_]{1,31}$/;

export const DEFAULT_ASSETS: readonly Asset[] = Object.freeze([
  { code: 'USD', scale: 2, name: 'US dollar' },
  { code: 'ZWG', scale: 2, name: 'Zimbabwe Gold' },
  { code: 'AIRTIME_USD', scale: 4, name: 'Airtime (USD)' },
  { code: 'AIRTIME_ZWG', scale: 4, name: 'Airtime (ZWG)' },
  { code: 'DATA_KB', scale: 0, name: 'Data, kilobytes' },
  { code: 'VOICE_S', scale: 0, name: 'Voice, seconds' },
  { code: 'SMS', scale: 0, name: 'SMS, messages' },
]);
