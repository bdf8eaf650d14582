import {
  GraphQLError, Kind, NoSchemaIntrospectionCustomRule,
  type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule,
} from 'graphql';

/** What one GraphQL document may ask for; checked as validation rules (before anything runs). */
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

/** Page size of a list field without `first` (RunsApi's default). */
const DEFAULT_PAGE = 20;

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/** Depth, aliases and complexity of each operation, walking fragments (cycles are another rule's error; not followed twice here). */
function costRule(limits: QueryLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    let aliases = 0;
    let operations = 0;
    return {
      Field(node) {
        if (node.alias) aliases++;
      },
      OperationDefinition: {
        enter() {
          operations++;
        },
        leave(operation: OperationDefinitionNode) {
          if (operations > limits.maxOperations) {
            if (operations === limits.maxOperations + 1) context.reportError(limitError(`a document may hold at most ${limits.maxOperations} operations`));
            return;
          }
          const { depth, cost } = measure(operation.selectionSet, fragments, limits);
          if (depth > limits.maxDepth) {
            context.reportError(limitError(`the query is nested ${depth > 1000 ? 'over 1000' : depth} levels deep; at most ${limits.maxDepth} are allowed`));
          } else if (cost > limits.maxComplexity) {
            context.reportError(limitError(`the query's complexity is over ${limits.maxComplexity} (fields selected, times the page sizes above them); ask for less`));
          }
        },
      },
      Document: {
        leave() {
          if (aliases > limits.maxAliases) context.reportError(limitError(`the document uses ${aliases} aliases; at most ${limits.maxAliases} are allowed`));
        },
      },
    };
  };
}

/** Depth and cost of a selection set; stops counting once past the limits (so hostile documents stay cheap to measure). */
function measure(root: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, limits: QueryLimits): { depth: number; cost: number } {
  let maxDepth = 0;
  let cost = 0;
  let visits = 0;
  const walk = (set: SelectionSetNode, depth: number, multiplier: number, seen: ReadonlySet<string>): void => {
    for (const selection of set.selections) {
      if (++visits > 100_000 || cost > limits.maxComplexity || maxDepth > limits.maxDepth) return;
      if (selection.kind === Kind.FIELD) {
        maxDepth = Math.max(maxDepth, depth);
        cost += multiplier;
        if (selection.selectionSet) walk(selection.selectionSet, depth + 1, multiplier * pageSize(selection), seen);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, multiplier, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !seen.has(name)) walk(fragment.selectionSet, depth, multiplier, new Set([...seen, name]));
      }
    }
  };
  walk(root, 1, 1, new Set());
  return { depth: maxDepth, cost };
}

/** A field with a `first` argument is a page of that many items (a variable or no value: the default page). */
function pageSize(field: FieldNode): number {
  const first = field.arguments?.find((arg) => arg.name.value === 'first');
  if (!first) return field.name.value === 'runs' ? DEFAULT_PAGE : 1;
  if (first.value.kind === Kind.INT) return Math.max(1, Math.min(Number(first.value.value), 100));
  return DEFAULT_PAGE;
}

/** Over HTTP a subscription could not be served (it needs a stream): say where it is served instead. */
export const NoHttpSubscriptionsRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === 'subscription') {
      context.reportError(new GraphQLError('subscriptions are served over WebSocket (graphql-ws) at this same path, not over HTTP', { nodes: [node] }));
    }
  },
});

/** The rules added to graphql-js's own, for HTTP and WebSocket alike. */
export function queryLimitRules(limits: QueryLimits, options: { introspection: boolean }): ValidationRule[] {
  return [costRule(limits), ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
}
