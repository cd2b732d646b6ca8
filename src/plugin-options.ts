import { validateHeaderValue } from 'node:http';
import { loadSettings, SettingsError } from './settings.js';

/**
 * The setting behind each numeric option of the plugin: an option is held to the same rules as
 * the service's environment variable (a team's `idleMs: 0` would cut every download, a
 * `partSize` of 0 fail every large one). Header options have their own check, the one a call's
 * get (`checkHeaderOptions`).
 */
const SETTING_OF: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  timeouts: {
    firstByteMs: 'FIRST_BYTE_TIMEOUT_MS',
    idleMs: 'IDLE_TIMEOUT_MS',
    totalMs: 'TOTAL_TIMEOUT_MS',
  },
  retry: {
    attempts: 'RETRY_ATTEMPTS',
    resumeAttempts: 'RESUME_ATTEMPTS',
    backoffMs: 'RETRY_BACKOFF_MS',
  },
  parallel: { parts: 'PARALLEL_PARTS', partSize: 'PART_SIZE', minBytes: 'PARALLEL_MIN_BYTES' },
  sharing: { coalesceMaxBytes: 'COALESCE_MAX_BYTES' },
  'sharing.cache': {
    maxBytes: 'CACHE_MAX_BYTES',
    maxObjectBytes: 'CACHE_MAX_OBJECT_BYTES',
    ttlMs: 'CACHE_TTL_MS',
  },
};

/**
 * Thrown at registration for an option the service would refuse as a setting, and by
 * `reply.sendObject` for a call's option that no answer could carry.
 */
export class OptionError extends TypeError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`streamgate: option ${option}: ${reason}`);
    this.name = 'OptionError';
  }
}

/**
 * Checks the plugin's options before anything is built from them (a JavaScript caller has no
 * types to keep it to them); throws OptionError.
 */
export function checkOptions(options: unknown): void {
  const sources = field(options, 'sources');
  if (typeof sources !== 'object' || sources === null) {
    throw new OptionError('sources', 'required: a Map or a record of name -> Source');
  }
  const env: Record<string, string> = {};
  const optionOf = new Map<string, string>();
  for (const [group, settings] of Object.entries(SETTING_OF)) {
    const given = group.split('.').reduce<unknown>((at, name) => field(at, name), options);
    for (const [name, variable] of Object.entries(settings)) {
      const value = field(given, name);
      if (value === undefined) continue;
      const option = `${group}.${name}`;
      if (typeof value !== 'number')
        throw new OptionError(option, `expected a number, got ${typeof value}`);
      env[variable] = String(value);
      optionOf.set(variable, option);
    }
  }
  checkHeaderOptions(undefined, { cacheControl: field(options, 'cacheControl') });
  const routes = field(options, 'routes');
  if (Array.isArray(routes)) {
    routes.forEach((route, index) => {
      if (typeof route === 'object' && route !== null)
        checkHeaderOptions(`routes[${index}]`, route);
    });
  }
  try {
    loadSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    throw new OptionError(optionOf.get(error.variable) ?? error.variable, error.reason);
  }
}

const HEADER_OPTIONS = ['contentType', 'defaultContentType', 'cacheControl'] as const;
type HeaderOptions = { readonly [name in (typeof HEADER_OPTIONS)[number]]?: unknown };

/**
 * The options that become response headers, of the plugin (`scope` undefined), a route table
 * entry or a call (`scope` "sendObject"): checked before any source is asked, since Node refuses
 * CR, LF and other control characters only when the answer is written (a 500, and a 304 that
 * never ends). A call's may come from a request, as when a team's route passes a query parameter
 * on. Empty is refused too: where the setting reads it as unset, the option would send it.
 */
export function checkHeaderOptions(scope: string | undefined, options: HeaderOptions): void {
  for (const name of HEADER_OPTIONS) {
    const value = options[name];
    if (value === undefined) continue;
    const option = scope === undefined ? name : `${scope}.${name}`;
    if (typeof value !== 'string' || value === '') {
      throw new OptionError(option, 'expected a non-empty string');
    }
    try {
      validateHeaderValue(name, value);
    } catch {
      throw new OptionError(option, 'expected a value valid in an HTTP header');
    }
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
