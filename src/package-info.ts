import { readFileSync } from 'node:fs';

/** The fields of package.json the service reports about itself (OpenAPI, tracing). */
export const packageInfo: { name: string; version: string; description: string; license: string } =
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
