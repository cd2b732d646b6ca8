import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import {
  catalogue,
  clientErrorCode,
  GatewayError,
  ValidationError,
  type ValidationIssue,
} from '../errors.js';

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

function answer(reply: FastifyReply, error: GatewayError): FastifyReply {
  return reply.code(error.statusCode).headers(error.headers).send({ detail: error.detail });
}

/**
 * Every failure becomes `{"detail": …}` from the catalogue: a GatewayError, FastAPI's 422 list,
 * or the catalogued answer of a client error Fastify reports by status. A 5xx never says more
 * than its catalogued detail; its cause goes to the log.
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof GatewayError) {
        if (error.statusCode >= 500) {
          request.log.warn({ err: error.cause, code: error.code }, error.detail);
        }
        return answer(reply, error);
      }
      if (error instanceof ValidationError) return reply.code(422).send({ detail: error.issues });
      if (error.validation) return reply.code(422).send({ detail: fastApiIssues(error) });
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return answer(reply, new GatewayError(clientErrorCode(status)));
      }
      request.log.error({ err: error }, 'unexpected error');
      return reply.code(500).send({ detail: catalogue.INTERNAL_ERROR.detail });
    });

    app.setNotFoundHandler((_request, reply) => answer(reply, new GatewayError('ROUTE_NOT_FOUND')));
  },
  { name: 'streamgate-errors' },
);
