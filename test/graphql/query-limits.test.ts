/**
 * The query limits as GraphQL tools and clients meet them: the standard
 * introspection query passes, `__typename` everywhere costs nothing, a page
 * size held by a variable counts as written inline, lists without `first`
 * have a cost, and every refusal has the same code over HTTP and graphql-ws.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { TestApi } from './harness.js';

/** 15 fields of a run, as a list page shows them. */
const RUN_FIELDS = 'id status createdAt startedAt finishedAt currentEpoch error backend device totalEpochs progress queuePosition params { maxDim epochs seed }';

/** Adds `__typename` to every selection set, as Apollo Client does. */
function withTypenames(query: string): string {
  return query.replace(/\{/g, '{ __typename ');
}

describe('query limits against standard clients', () => {
  let api: TestApi;
  before(async () => {
    // Depth 5: the standard introspection query (13 levels) must pass all the same; the data types nest 6 deep at most.
    api = await TestApi.start('pglite', { role: 'api', queryLimits: { maxDepth: 5 } });
  });
  after(() => api?.close());

  /** The error codes of an operation over graphql-ws (one that fails before it runs). */
  async function wsCodes(query: string, variables: Record<string, unknown> = {}): Promise<unknown[]> {
    try {
      const results = await api.subscribe(query, variables, { timeoutMs: 10_000 });
      return results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code));
    } catch (err) {
      return (JSON.parse((err as Error).message) as { extensions?: { code?: unknown } }[]).map((error) => error.extensions?.code);
    }
  }

  test('graphql-js\'s standard introspection query (GraphiQL, Sandbox, codegen) passes over HTTP and WebSocket', async () => {
    const http = await api.request(getIntrospectionQuery());
    assert.equal(http.errors, undefined, JSON.stringify(http.errors));
    assert.ok(http.data.__schema.types.some((type: { name: string }) => type.name === 'StartRunInput'));
    assert.deepEqual(await wsCodes(getIntrospectionQuery()), []);
  });

  test('a deep query on the data types is still refused, with one code over HTTP and WebSocket', async () => {
    const deep = '{ runs { edges { node { epochs { preview { id } } } } } }';
    const reply = await api.request(deep);
    assert.equal(reply.status, 400);
    assert.deepEqual(reply.errors?.map((error) => error.extensions?.code), ['QUERY_TOO_COMPLEX']);
    assert.match(reply.errors![0].message, /nested 6 levels deep; at most 5/);
    assert.deepEqual(await wsCodes(deep), ['QUERY_TOO_COMPLEX']);
  });

  test('a page size held by a variable costs what it would written inline', async () => {
    const selection = `edges { node { ${RUN_FIELDS} } }`;
    const inline = await api.request(`{ runs(first: 100) { ${selection} } x: runs(first: 100) { ${selection} } }`);
    const variable = await api.request(`query($first: Int) { runs(first: $first) { ${selection} } x: runs(first: $first) { ${selection} } }`, { first: 100 });
    assert.deepEqual(inline.errors?.map((error) => error.extensions?.code), ['QUERY_TOO_COMPLEX']);
    assert.deepEqual(variable.errors?.map((error) => error.extensions?.code), ['QUERY_TOO_COMPLEX']);
    // The same document with a small page passes.
    const small = await api.request(`query($first: Int) { runs(first: $first) { ${selection} } x: runs(first: $first) { ${selection} } }`, { first: 10 });
    assert.equal(small.errors, undefined, JSON.stringify(small.errors));
    assert.deepEqual(await wsCodes(`query($first: Int) { runs(first: $first) { ${selection} } x: runs(first: $first) { ${selection} } }`, { first: 100 }), ['QUERY_TOO_COMPLEX']);
  });

  test('a page of 100 runs with 15 fields passes with __typename in every selection (Apollo Client); their epochs have a cost', async () => {
    const page = withTypenames(`query Page { runs(first: 100) { edges { cursor node { ${RUN_FIELDS} } } pageInfo { hasNextPage endCursor } } }`);
    const reply = await api.request(page);
    assert.equal(reply.errors, undefined, JSON.stringify(reply.errors));
    const withEpochs = await api.request('{ runs(first: 100) { edges { node { id epochs { epoch totalLoss styleLoss contentLoss elapsedMs } } } } }');
    assert.deepEqual(withEpochs.errors?.map((error) => error.extensions?.code), ['QUERY_TOO_COMPLEX']);
  });

  test('parse and validation errors carry the same codes over WebSocket as over HTTP', async () => {
    for (const [query, code] of [['{ runs {', 'GRAPHQL_PARSE_FAILED'], ['{ nope }', 'GRAPHQL_VALIDATION_FAILED']] as const) {
      const http = await api.request(query);
      assert.deepEqual(http.errors?.map((error) => error.extensions?.code), [code]);
      assert.deepEqual(await wsCodes(query), [code], query);
    }
  });
});
