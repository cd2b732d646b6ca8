import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  catalogue,
  clientErrorCode,
  GatewayError,
  ValidationError,
  type ValidationIssue,
} from '../errors.js';
import { replyGatewayError } from '../reply-error.js';

/** Ajv's report of a bad path or query parameter, in FastAPI's words. */
function fastApiIssues(error: FastifyError): ValidationIssue[] {
  const where = error.validationContext === 'params' ? 'path' : (error.validationContext ?? 'path');
  return (error.validation ?? []).map((issue) => {
    const name =
      issue.instancePath.replace(/^\//, '') || String(issue.params.missingProperty ?? '');
    const integer = issue.keyword === 'pattern' || issue.keyword === 'type';
    return {
      loc: [where, name],
      msg: integer
        ? 'Input should be a valid integer, unable to parse string as an integer'
        : `Input should be ${issue.message ?? 'valid'}`,
      type: integer ? 'int_parsing' : issue.keyword,
    };
  });
}

/**
 * Every failure becomes `{"detail": …}` from the catalogue: a GatewayError, FastAPI's 422 list,
 * or the catalogued answer of a client error Fastify reports by status. A 5xx never says more
 * than its catalogued detail; its cause goes to the log. The streamgate plugin also sets it on
 * the scope of its route-table routes only, so a team's own error handler stays in charge of
 * the rest of its app.
 */
export function catalogueErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error instanceof GatewayError) return replyGatewayError(reply, error);
  if (error instanceof ValidationError) return reply.code(422).send({ detail: error.issues });
  if (error.validation) return reply.code(422).send({ detail: fastApiIssues(error) });
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return replyGatewayError(reply, new GatewayError(clientErrorCode(status)));
  }
  request.log.error({ err: error }, 'unexpected error');
  return reply.code(500).send({ detail: catalogue.INTERNAL_ERROR.detail });
}

/** The catalogue's error handler and its 404 for unknown routes, for the whole service. */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(catalogueErrorHandler);
    app.setNotFoundHandler((_request, reply) =>
      replyGatewayError(reply, new GatewayError('ROUTE_NOT_FOUND')),
    );
  },
  { name: 'streamgate-errors' },
);
