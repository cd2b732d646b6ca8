import type { KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Check } from './check.js';
import { parseTaskScope, type TaskScope } from './task-scope.js';

/** Asymmetric algorithms a public key or a JWKS may verify; HMAC never reaches them. */
export type PublicKeyAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

/** Where the verification key comes from; the algorithm follows from it. */
export type JwtKeySource =
  | { kind: 'secret'; secret: Uint8Array }
  | { kind: 'public-key'; key: KeyObject; algorithm: PublicKeyAlgorithm }
  | { kind: 'jwks'; url: URL; cooldownMs: number };

export interface JwtSettings {
  key: JwtKeySource;
  issuer: string;
  audience: string;
  clockToleranceS: number;
}

/** Why a token was refused; for the log, never for the client. */
export type JwtFailure =
  | 'jwt-malformed'
  | 'jwt-algorithm-not-allowed'
  | 'jwt-bad-signature'
  | 'jwt-unknown-kid'
  | 'jwt-expired'
  | 'jwt-claim-invalid'
  | 'jwt-unsupported'
  | 'jwks-unavailable'
  | 'jwt-unverifiable';

/** A verified token reaches `scope`, undefined when its `tasks` claim is absent or unusable. */
export type JwtCheck = Check<{ scope: TaskScope | undefined }, JwtFailure>;

const JWKS_ALGORITHMS: PublicKeyAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5_000;

function keyAndAlgorithms(source: JwtKeySource): {
  key: Uint8Array | KeyObject | JWTVerifyGetKey;
  algorithms: string[];
} {
  switch (source.kind) {
    case 'secret':
      return { key: source.secret, algorithms: ['HS256'] };
    case 'public-key':
      return { key: source.key, algorithms: [source.algorithm] };
    case 'jwks':
      return {
        // jose fetches with the global fetch (undici), refetches on an unknown `kid` only once
        // the cooldown since the last fetch has passed, and never puts the `kid` in a URL.
        key: createRemoteJWKSet(source.url, {
          cooldownDuration: source.cooldownMs,
          cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
          timeoutDuration: JWKS_TIMEOUT_MS,
        }),
        algorithms: JWKS_ALGORITHMS,
      };
  }
}

function failureOf(error: unknown): { failure: JwtFailure; detail?: string } {
  if (error instanceof errors.JWTExpired) return { failure: 'jwt-expired' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    return { failure: 'jwt-claim-invalid', detail: `${error.claim}: ${error.reason}` };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return { failure: 'jwt-algorithm-not-allowed' };
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return { failure: 'jwt-bad-signature' };
  if (error instanceof errors.JWKSNoMatchingKey) return { failure: 'jwt-unknown-kid' };
  if (error instanceof errors.JWKSMultipleMatchingKeys) return { failure: 'jwt-unknown-kid' };
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return { failure: 'jwt-malformed' };
  }
  if (error instanceof errors.JOSENotSupported) return { failure: 'jwt-unsupported' };
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return { failure: 'jwks-unavailable' };
  }
  // jose's generic error (a JWKS answer other than 200) or fetch's own (connection refused).
  const detail = error instanceof Error ? error.message : String(error);
  return { failure: 'jwt-unverifiable', detail };
}

/**
 * Builds the verifier of bearer JWTs: signature with the configured key and only its algorithm
 * (never `none`, never HMAC with a public key), `iss`, `aud`, a required `exp`, `nbf` when
 * present, each with the clock tolerance; then reads the `tasks` claim.
 */
export function createJwtVerifier(settings: JwtSettings): (token: string) => Promise<JwtCheck> {
  const { key, algorithms } = keyAndAlgorithms(settings.key);
  const options = {
    algorithms,
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceS,
    requiredClaims: ['exp'],
  };
  return async (token) => {
    try {
      // One call per key shape: jose's overloads tell a key from a key-getting function.
      const { payload } =
        typeof key === 'function'
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options);
      return { ok: true, scope: parseTaskScope(payload.tasks) };
    } catch (error) {
      return { ok: false, ...failureOf(error) };
    }
  };
}
