/**
 * Prints a signed URL for a path of the gateway, signed with the first key of SIGNED_URL_KEYS:
 *   SIGNED_URL_KEYS=kid:secret npm run sign-url -- /tasks/1/image [--ttl SECONDS] [--etag ETAG]
 * Exactly one line on stdout: the path with its query. Applications call `signUrl()` from
 * src/auth/signed-url.ts instead.
 */
import { parseArgs } from 'node:util';
import { signedUrlKeys } from '../src/auth/settings.js';
import { DEFAULT_TTL_S, SignUrlError, signUrl } from '../src/auth/signed-url.js';
import { SettingsError } from '../src/settings.js';

const USAGE = 'usage: npm run sign-url -- PATH [--ttl SECONDS] [--etag ETAG]';

function fail(message: string): never {
  process.stderr.write(`sign-url: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parsedArguments() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { ttl: { type: 'string' }, etag: { type: 'string' } },
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}

function main(): void {
  const { positionals, values } = parsedArguments();
  const [target, ...extra] = positionals;
  if (target === undefined || extra.length > 0) fail('expected exactly one PATH');
  const ttl = values.ttl ?? String(DEFAULT_TTL_S);
  if (!/^[0-9]{1,9}$/.test(ttl)) fail(`--ttl expects whole seconds, got "${ttl}"`);
  try {
    const [key] = signedUrlKeys(process.env);
    if (key === undefined) fail('SIGNED_URL_KEYS is not set');
    const options = { ttlSeconds: Number(ttl), etag: values.etag };
    process.stdout.write(`${signUrl(target, key, options)}\n`);
  } catch (error) {
    if (error instanceof SettingsError || error instanceof SignUrlError) fail(error.message);
    throw error;
  }
}

main();
