/**
 * Access-control settings (API keys, JWT, signed URLs, the metrics token, CORS), read from the
 * environment with the rest of the settings. All off by default. Messages name the variable and
 * the problem, never a secret.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SettingsError } from '../settings.js';
import { digest } from './constant-time.js';
import type { JwtKeySource, JwtSettings, PublicKeyAlgorithm } from './jwt.js';
import type { SigningKey } from './signed-url.js';

/** Origins allowed to read answers cross-origin: a list, or `*` for any. */
export type CorsOrigins = readonly string[] | '*';

export interface AccessSettings {
  /** SHA-256 of every API key; the keys themselves are not kept. */
  apiKeyDigests: readonly Buffer[];
  jwt: JwtSettings | undefined;
  /** The first signs, every one verifies. */
  signedUrlKeys: readonly SigningKey[];
  metricsToken: string | undefined;
  corsOrigins: CorsOrigins | undefined;
}

type Env = Record<string, string | undefined>;

const MIN_API_KEY_LENGTH = 16;
const MIN_SECRET_BYTES = 32;
const MAX_VALUE_BYTES = 8 * 1024;

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Env, name: string, because: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new SettingsError(name, `required with ${because}`);
  return value;
}

function readSettingFile(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SettingsError(name, `cannot read the file (${code})`);
  }
}

function checkedApiKey(name: string, key: string, position: number): string {
  if (key.length < MIN_API_KEY_LENGTH || key.length > MAX_VALUE_BYTES || /[^\x21-\x7e]/.test(key)) {
    throw new SettingsError(
      name,
      `key ${position} must be ${MIN_API_KEY_LENGTH} to ${MAX_VALUE_BYTES} printable ASCII characters without spaces`,
    );
  }
  return key;
}

function apiKeyDigests(env: Env): Buffer[] {
  const keys: string[] = [];
  const inline = optional(env, 'API_KEYS');
  if (inline !== undefined) {
    inline.split(',').forEach((key, index) => {
      keys.push(checkedApiKey('API_KEYS', key.trim(), index + 1));
    });
  }
  const file = optional(env, 'API_KEYS_FILE');
  if (file !== undefined) {
    const lines = readSettingFile('API_KEYS_FILE', file).split(/\r?\n/);
    lines.forEach((line, index) => {
      const key = line.trim();
      if (key !== '' && !key.startsWith('#'))
        keys.push(checkedApiKey('API_KEYS_FILE', key, index + 1));
    });
    if (keys.length === 0) throw new SettingsError('API_KEYS_FILE', 'holds no key');
  }
  return keys.map(digest);
}

function publicKeyAlgorithm(key: KeyObject): PublicKeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? 'RS256' : undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
  }
  return key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : undefined;
}

function publicKeySource(file: string): JwtKeySource {
  const pem = readSettingFile('JWT_PUBLIC_KEY_FILE', file);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new SettingsError('JWT_PUBLIC_KEY_FILE', 'expected a PEM public key');
  }
  const algorithm = publicKeyAlgorithm(key);
  if (algorithm === undefined) {
    throw new SettingsError(
      'JWT_PUBLIC_KEY_FILE',
      'expected an RSA key of 2048 bits or more (RS256), a P-256 key (ES256) or an Ed25519 key (EdDSA)',
    );
  }
  return { kind: 'public-key', key, algorithm };
}

function jwksSource(env: Env, raw: string): JwtKeySource {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError('JWT_JWKS_URL', 'expected an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingsError('JWT_JWKS_URL', 'expected an http(s) URL');
  }
  // fetch refuses a URL with a login, and its error, which quotes the URL, would reach the log.
  if (url.username !== '' || url.password !== '') {
    throw new SettingsError('JWT_JWKS_URL', 'expected an http(s) URL without a login');
  }
  const cooldownS = integer(env, 'JWT_JWKS_COOLDOWN_S', 60, 1, 86_400);
  return { kind: 'jwks', url, cooldownMs: cooldownS * 1000 };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new SettingsError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function jwtKeySource(env: Env): JwtKeySource | undefined {
  const secret = optional(env, 'JWT_SECRET');
  const file = optional(env, 'JWT_PUBLIC_KEY_FILE');
  const jwks = optional(env, 'JWT_JWKS_URL');
  const given = [secret, file, jwks].filter((value) => value !== undefined).length;
  if (given > 1) {
    throw new SettingsError(
      'JWT_SECRET',
      'set only one of JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_JWKS_URL',
    );
  }
  if (secret !== undefined) {
    const bytes = new TextEncoder().encode(secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new SettingsError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    return { kind: 'secret', secret: bytes };
  }
  if (file !== undefined) return publicKeySource(file);
  if (jwks !== undefined) return jwksSource(env, jwks);
  return undefined;
}

function jwtSettings(env: Env): JwtSettings | undefined {
  const key = jwtKeySource(env);
  if (key === undefined) return undefined;
  const because = 'a JWT key';
  return {
    key,
    issuer: required(env, 'JWT_ISSUER', because),
    audience: required(env, 'JWT_AUDIENCE', because),
    clockToleranceS: integer(env, 'JWT_CLOCK_TOLERANCE_S', 30, 0, 300),
  };
}

/** Parses `kid:secret[,kid:secret...]`; exported for tools that sign URLs from the same value. */
export function signedUrlKeys(env: Env): SigningKey[] {
  const raw = optional(env, 'SIGNED_URL_KEYS');
  if (raw === undefined) return [];
  const keys = raw.split(',').map((entry, index): SigningKey => {
    const colon = entry.indexOf(':');
    const kid = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim();
    if (colon === -1 || !/^[A-Za-z0-9_-]{1,64}$/.test(kid)) {
      throw new SettingsError(
        'SIGNED_URL_KEYS',
        `entry ${index + 1} must be kid:secret, the kid 1 to 64 of A-Z a-z 0-9 _ -`,
      );
    }
    if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
      throw new SettingsError(
        'SIGNED_URL_KEYS',
        `the secret of key "${kid}" must be at least ${MIN_SECRET_BYTES} bytes`,
      );
    }
    return { kid, secret };
  });
  if (new Set(keys.map((key) => key.kid)).size !== keys.length) {
    throw new SettingsError('SIGNED_URL_KEYS', 'a kid appears twice');
  }
  return keys;
}

function metricsToken(env: Env): string | undefined {
  const token = optional(env, 'METRICS_TOKEN');
  if (token !== undefined) checkedApiKey('METRICS_TOKEN', token, 1);
  return token;
}

function corsOrigins(env: Env): CorsOrigins | undefined {
  const raw = optional(env, 'CORS_ORIGINS');
  if (raw === undefined) return undefined;
  if (raw.trim() === '*') return '*';
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new SettingsError(
        'CORS_ORIGINS',
        `expected * or origins like https://app.example.com, got "${origin}"`,
      );
    }
    return origin;
  });
}

/** Parses the access-control variables; throws a SettingsError naming the first bad one. */
export function loadAccessSettings(env: Env): AccessSettings {
  return {
    apiKeyDigests: apiKeyDigests(env),
    jwt: jwtSettings(env),
    signedUrlKeys: signedUrlKeys(env),
    metricsToken: metricsToken(env),
    corsOrigins: corsOrigins(env),
  };
}
