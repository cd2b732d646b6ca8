import { SourceError } from '../../errors.js';
import type { S3Settings } from '../../settings.js';
import type { Credentials } from './sigv4.js';

/** Where credentials come from: called once, then again only to refresh expiring ones. */
export type CredentialProvider = () => Promise<Credentials>;

export interface RefreshPolicy {
  /** Refresh this long before `expiration`. */
  refreshBeforeMs: number;
  /** After a failed refresh, try again this much later (while the old credentials last). */
  retryMs: number;
}

const DEFAULT_POLICY: RefreshPolicy = { refreshBeforeMs: 5 * 60_000, retryMs: 30_000 };

/**
 * Credentials resolved once and kept: requests read the cached value; temporary credentials are
 * refreshed in the background before they expire, and a failed refresh keeps the old ones until
 * they actually expire.
 */
export class CachedCredentials {
  readonly #provider: CredentialProvider;
  readonly #policy: RefreshPolicy;
  #current: Credentials | undefined;
  #pending: Promise<Credentials> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(provider: CredentialProvider, policy: RefreshPolicy = DEFAULT_POLICY) {
    this.#provider = provider;
    this.#policy = policy;
  }

  /** The credentials to sign with now; resolves them on first use or after they expired. */
  get(): Promise<Credentials> | Credentials {
    const current = this.#current;
    if (current !== undefined && !expired(current, Date.now())) return current;
    return this.#resolve();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #resolve(): Promise<Credentials> {
    this.#pending ??= this.#provider().then(
      (credentials) => {
        this.#pending = undefined;
        this.#accept(credentials);
        return credentials;
      },
      (error: unknown) => {
        this.#pending = undefined;
        // The provider's message can name files, roles or endpoints: keep it as the cause only.
        throw new SourceError('unavailable', 'storage credentials unavailable', {
          cause: error,
          retryable: false,
        });
      },
    );
    return this.#pending;
  }

  #accept(credentials: Credentials): void {
    this.#current = credentials;
    const expiration = credentials.expiration?.getTime();
    if (expiration === undefined) return;
    const untilRefresh = expiration - this.#policy.refreshBeforeMs - Date.now();
    // Credentials handed out already inside the refresh window (instance and container metadata
    // do so shortly before they rotate) are asked for again after a pause, not at once: each
    // answer would otherwise schedule the next call immediately, in a loop until they rotate.
    this.#schedule(untilRefresh > 0 ? untilRefresh : this.#policy.retryMs);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#refresh(), delayMs);
    this.#timer.unref();
  }

  #refresh(): void {
    this.#resolve().catch(() => {
      const current = this.#current;
      if (current !== undefined && !expired(current, Date.now())) {
        this.#schedule(this.#policy.retryMs);
      }
    });
  }
}

function expired(credentials: Credentials, now: number): boolean {
  const expiration = credentials.expiration?.getTime();
  return expiration !== undefined && expiration <= now;
}

/**
 * Static keys when the settings name them, otherwise the AWS default provider chain
 * (environment, shared files, SSO, web identity, container and instance metadata), loaded only
 * then.
 */
export function credentialsFor(settings: S3Settings): CachedCredentials {
  const { accessKeyId, secretAccessKey, sessionToken } = settings;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const keys: Credentials = { accessKeyId, secretAccessKey, sessionToken };
    return new CachedCredentials(async () => keys);
  }
  let chain: CredentialProvider | undefined;
  return new CachedCredentials(async () => {
    chain ??= (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
    return chain();
  });
}
