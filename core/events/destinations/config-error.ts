/** A destination that cannot be built from what the user gave (bad URL, unsupported auth...). */
export class DestinationConfigError extends Error {
  override name = 'DestinationConfigError';
}
