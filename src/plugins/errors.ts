import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { GatewayError, ValidationError, type ValidationIssue } from '../errors.js';

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
 * Every failure becomes `{"detail": …}`: a catalogued GatewayError, FastAPI's 422 list, or the
 * standard reason phrase of a client error. A 5xx never says more than its reason phrase.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof GatewayError) {
      if (error.statusCode >= 500)
        request.log.warn({ err: error.cause, code: error.code }, error.detail);
      return reply.code(error.statusCode).headers(error.headers).send({ detail: error.detail });
    }
    if (error instanceof ValidationError) {
      return reply.code(422).send({ detail: error.issues });
    }
    if (error.validation) {
      return reply.code(422).send({ detail: fastApiIssues(error) });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ detail: STATUS_CODES[status] ?? 'Bad Request' });
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send({ detail: 'Internal Server Error' });
  });

  app.setNotFoundHandler((_request, reply) => {
    const error = new GatewayError('ROUTE_NOT_FOUND');
    return reply.code(error.statusCode).send({ detail: error.detail });
  });
}

/** Answers 405 with `allow` for the methods a route does not serve (Fastify alone says 404). */
export function rejectOtherMethods(app: FastifyInstance, url: string, allowed: string[]): void {
  const methods = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => !allowed.includes(m));
  app.route({
    method: methods,
    url,
    schema: { hide: true },
    handler: async () => {
      throw new GatewayError('METHOD_NOT_ALLOWED', { headers: { allow: allowed.join(', ') } });
    },
  });
}
