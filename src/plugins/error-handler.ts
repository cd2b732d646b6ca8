import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify';
import fp from 'fastify-plugin';
import {
  catalogue,
  clientErrorCode,
  GatewayError,
  ValidationError,
  type ValidationIssue,
} from '../errors.js';
import { replyGatewayError } from '../reply-error.js';

type RequestPart = NonNullable<FastifyError['validationContext']>;

/** Where FastAPI says a bad value was, for each part of the request Fastify validates. */
const fastApiLocation: Record<RequestPart, string> = {
  params: 'path',
  querystring: 'query',
  headers: 'header',
  body: 'body',
};

/** `'0', '1' or 'true'`: pydantic's list of a Literal's values, each as Python writes it. */
function pythonAlternatives(values: readonly unknown[]): string {
  const written = values.map((value) => (typeof value === 'string' ? `'${value}'` : String(value)));
  const last = written.pop();
  return written.length === 0 ? String(last) : `${written.join(', ')} or ${last}`;
}

function allowedValues(issue: FastifySchemaValidationError): readonly unknown[] {
  const values = issue.params.allowedValues;
  return Array.isArray(values) ? values : [];
}

/** What FastAPI (pydantic v2) says for the keyword an issue failed. */
function fastApiWording(
  issue: FastifySchemaValidationError,
): Pick<ValidationIssue, 'msg' | 'type'> {
  switch (issue.keyword) {
    // The parameters are decimal strings: a mismatch is a string that is no integer.
    case 'pattern':
    case 'type':
      return {
        msg: 'Input should be a valid integer, unable to parse string as an integer',
        type: 'int_parsing',
      };
    case 'enum':
      return {
        msg: `Input should be ${pythonAlternatives(allowedValues(issue))}`,
        type: 'literal_error',
      };
    default:
      // Ajv's own words, which begin with "must".
      return { msg: `Input ${issue.message ?? 'is invalid'}`, type: issue.keyword };
  }
}

/** Ajv's report of a bad path or query parameter, in FastAPI's words. */
function fastApiIssues(error: FastifyError): ValidationIssue[] {
  const where = fastApiLocation[error.validationContext ?? 'params'];
  return (error.validation ?? []).map((issue) => {
    const name =
      issue.instancePath.replace(/^\//, '') || String(issue.params.missingProperty ?? '');
    return { loc: [where, name], ...fastApiWording(issue) };
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
