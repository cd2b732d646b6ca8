/**
 * A verifier's answer: what a valid credential carries, or why it was refused. The failure and
 * its detail (a claim's name, never a credential) are for the log, never for the client.
 */
export type Check<Valid, Failure extends string> =
  | ({ ok: true } & Valid)
  | { ok: false; failure: Failure; detail?: string };
