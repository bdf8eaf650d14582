import {
  GraphQLError, Kind, NoSchemaIntrospectionCustomRule, visit,
  type DocumentNode, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type ValidationRule,
} from 'graphql';

/** What one GraphQL document may ask for; checked before anything runs (queryLimitError). */
export interface QueryLimits {
  /** Deepest nesting of fields (fragments expanded). */
  maxDepth: number;
  /** Aliased fields in the whole document. */
  maxAliases: number;
  /** Fields selected, fragments expanded, each multiplied by the page sizes (`first`) above it. */
  maxComplexity: number;
  /** Lexical tokens in a document (graphql-js refuses longer ones before building a tree). */
  maxTokens: number;
  /** Operations in one document. */
  maxOperations: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({
  maxDepth: 12,
  maxAliases: 30,
  maxComplexity: 2_000,
  maxTokens: 4_000,
  maxOperations: 10,
});

/** Connections (Relay): their `edges` are a page of `first` items, their `pageInfo` one object. */
const CONNECTIONS = new Set(['runs']);
/** Page size of a connection without `first` (RunsApi's default). */
const DEFAULT_PAGE = 20;
/** The largest page a client may ask for (RunService's). */
const MAX_PAGE = 100;
/** Rows a list without `first` is priced at: a run's epochs as many as the default run has (10). */
const LIST_ROWS: Readonly<Record<string, number>> = { epochs: 10 };

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/**
 * The refusal, if any, of a document over the limits: too many operations
 * or aliases, or an operation too deep or too complex. Checked once the
 * variables are known (a page size may be one), for HTTP and WebSocket
 * alike, with one code: QUERY_TOO_COMPLEX.
 *
 * Introspection (`__schema`, `__type`) is not counted: tools send
 * graphql-js's standard introspection query, 13 levels deep, and whether
 * introspection is allowed at all is a rule of its own. `__typename`, which
 * clients such as Apollo Client add to every selection, costs nothing.
 */
export function queryLimitError(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limits: QueryLimits,
): GraphQLError | null {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  if (operations.length > limits.maxOperations) return limitError(`a document may hold at most ${limits.maxOperations} operations`);
  let aliases = 0;
  visit(document, { Field: (node) => { if (node.alias) aliases++; } });
  if (aliases > limits.maxAliases) return limitError(`the document uses ${aliases} aliases; at most ${limits.maxAliases} are allowed`);
  const operation = operationName ? operations.find((op) => op.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  // No such operation: execution says so.
  if (!operation) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const { depth, cost } = measure(operation.selectionSet, fragments, variables ?? {}, limits);
  if (depth > limits.maxDepth) return limitError(`the query is nested ${depth > 1000 ? 'over 1000' : depth} levels deep; at most ${limits.maxDepth} are allowed`);
  if (cost > limits.maxComplexity) return limitError(`the query's complexity is over ${limits.maxComplexity} (fields selected, times the page sizes above them); ask for less`);
  return null;
}

/** Depth and cost of a selection set, fragments expanded (each once per path); stops counting once past the limits, so hostile documents stay cheap to measure. */
function measure(
  root: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, variables: Readonly<Record<string, unknown>>, limits: QueryLimits,
): { depth: number; cost: number } {
  let maxDepth = 0;
  let cost = 0;
  let visits = 0;
  // `page`: the page size of the connection whose selection this is, which its `edges` are resolved for (not its `pageInfo`).
  const walk = (set: SelectionSetNode, depth: number, multiplier: number, page: number, seen: ReadonlySet<string>): void => {
    for (const selection of set.selections) {
      if (++visits > 100_000 || cost > limits.maxComplexity || maxDepth > limits.maxDepth) return;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename' || name === '__schema' || name === '__type') continue;
        maxDepth = Math.max(maxDepth, depth);
        cost += multiplier;
        if (!selection.selectionSet) continue;
        if (CONNECTIONS.has(name)) walk(selection.selectionSet, depth + 1, multiplier, pageSize(selection, variables), seen);
        else if (name === 'edges' || name === 'nodes') walk(selection.selectionSet, depth + 1, multiplier * page, 1, seen);
        else walk(selection.selectionSet, depth + 1, multiplier * (LIST_ROWS[name] ?? 1), 1, seen);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, multiplier, page, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !seen.has(name)) walk(fragment.selectionSet, depth, multiplier, page, new Set([...seen, name]));
      }
    }
  };
  walk(root, 1, 1, 1, new Set());
  return { depth: maxDepth, cost };
}

/** A connection's page size: its `first`, written inline or held by a variable, else the default page. */
function pageSize(field: FieldNode, variables: Readonly<Record<string, unknown>>): number {
  const first = field.arguments?.find((arg) => arg.name.value === 'first');
  if (!first) return DEFAULT_PAGE;
  const value = first.value.kind === Kind.VARIABLE ? variables[first.value.name.value] : first.value.kind === Kind.INT ? Number(first.value.value) : undefined;
  // Null takes the default page; a value that is no page size is refused when the field is resolved.
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, Math.min(Math.trunc(value), MAX_PAGE)) : DEFAULT_PAGE;
}

/** Over HTTP a subscription could not be served (it needs a stream): say where it is served instead. */
export const NoHttpSubscriptionsRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === 'subscription') {
      context.reportError(new GraphQLError('subscriptions are served over WebSocket (graphql-ws) at this same path, not over HTTP', { nodes: [node] }));
    }
  },
});

/** The rules added to graphql-js's own, for HTTP and WebSocket alike (the limits need the variables: queryLimitError). */
export function queryValidationRules(options: { introspection: boolean }): ValidationRule[] {
  return options.introspection ? [] : [NoSchemaIntrospectionCustomRule];
}
