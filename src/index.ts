/**
 * streamgate as a library: the Fastify plugin that adds `reply.sendObject`, the sources it
 * streams from, the `Source` interface for a source of one's own, and the error catalogue.
 * The service (`npx streamgate`) is built on the same plugin (src/app.ts).
 */
export {
  type SigningKey,
  type SignOptions,
  SignUrlError,
  signUrl,
} from './auth/signed-url.js';
export {
  bytesErrorCodes,
  catalogue,
  type ErrorCode,
  GatewayError,
  imageErrorCodes,
  objectErrorCodes,
  SourceError,
  type SourceErrorCodes,
  type SourceFailure,
} from './errors.js';
export { parseContentRange } from './http/range.js';
export {
  type SendObjectOptions,
  type ServeTimeouts,
  type StreamgateOptions,
  streamgate,
  streamgate as default,
} from './plugin.js';
export { OptionError } from './plugin-options.js';
export type { ObjectRouteSpec, ParamSpec } from './routes/table.js';
export type { RetrySettings } from './settings.js';
export {
  createLocalSource,
  createS3Source,
  createUpstreamSource,
  type LocalSourceOptions,
  type S3SourceOptions,
  type UpstreamSourceOptions,
} from './sources/factories.js';
export { LocalSource } from './sources/local.js';
export { S3Source } from './sources/s3.js';
export {
  type ByteRange,
  NotModified,
  type ObjectInfo,
  type ObjectStream,
  type ReadOptions,
  type Source,
} from './sources/source.js';
export { UpstreamSource } from './sources/upstream.js';
