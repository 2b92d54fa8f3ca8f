/**
 * The base of Uplink's typed errors: a stable, greppable `code` that callers
 * branch on (and the HTTP layer maps to a status in one place), the class name
 * in `name`, and the upstream failure in `cause`.
 */
export class UplinkError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
