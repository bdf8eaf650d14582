import type { GraphQLFormattedError, GraphQLSchema, ValidationRule } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { ApiContext } from '../graphql/context.js';
import type { QueryLimits } from '../graphql/query-limits.js';

/**
 * What the HTTP end (Apollo) and the WebSocket end (graphql-ws) of the
 * GraphQL path both serve with, so that an operation meets the same rules,
 * limits, error formatting and context over either.
 */
export interface GraphQLEndSettings {
  schema: GraphQLSchema;
  /** Added to graphql-js's own rules (queryValidationRules). */
  validationRules: ValidationRule[];
  queryLimits: QueryLimits;
  /** apiErrorFormatter's. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  contextFor: (req: IncomingMessage, caller: Caller) => ApiContext;
}
