/**
 * The API as the GraphQL ecosystem's standard clients and tools meet it,
 * each the real package against a real server on 127.0.0.1: graphql-http's
 * server audits, urql with its defaults (queries as GET), get-graphql-schema
 * with graphql-inspector's diff, Apollo Client's normalised cache through a
 * replay and a reconnect (GraphQLWsLink), and Apollo Sandbox's landing page
 * in Chromium.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { diff } from '@graphql-inspector/core';
import { Client as UrqlClient, cacheExchange, fetchExchange, gql as urqlGql } from '@urql/core';
import { buildASTSchema, getIntrospectionQuery, parse, visit, type ASTNode, type GraphQLSchema, type StringValueNode } from 'graphql';
import { auditServer } from 'graphql-http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { browserMissing, launchBrowser, watchConsole } from '../helpers/browser.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { TestApi } from './harness.js';

const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id } }';
/** Tiny runs: 32 px images at maxDim 32, a few epochs of 2 steps. */
const tiny = (epochs: number) => ({ maxDim: 32, epochs, stepsPerEpoch: 2 });
const STATUS_ORDER = ['QUEUED', 'RUNNING', 'SUCCEEDED'];

const RUN_QUERY = gql`query Run($id: ID!) { run(id: $id) { id status currentEpoch } }`;
const RUN_EVENTS = gql`subscription RunEvents($runId: ID!) {
  runEvents(runId: $runId) { sequence kind status run { id status currentEpoch } epoch { epoch } }
}`;

interface WatchedRun { id: string; status: string; currentEpoch: number }
interface EventData { sequence: number; kind: string; status: string; run: WatchedRun; epoch: { epoch: number } | null }

describe('standard GraphQL clients and tools', () => {
  let api: TestApi;
  let content: string;
  let style: string;
  before(async () => {
    api = await TestApi.start('pglite');
    content = await api.createImage(1);
    style = await api.createImage(2);
  });
  after(() => api?.close());

  /** Starts a tiny run and waits for it to finish. */
  async function finishedRun(epochs: number): Promise<string> {
    const { startRun } = await api.query(START, { input: { contentImageId: content, styleImageIds: [style], ...tiny(epochs) } });
    await api.subscribe('subscription($id: ID!) { runEvents(runId: $id) { sequence } }', { id: startRun.id });
    return startRun.id;
  }

  test('graphql-http\'s server audits: every MUST of the GraphQL-over-HTTP spec holds', async () => {
    const results = await auditServer({ url: api.graphqlUrl, fetchFn: fetch });
    const failing = (status: string) => results.flatMap((result) => (result.status === status && 'reason' in result ? [`${result.name}: ${result.reason}`] : []));
    assert.deepEqual(failing('error'), []);
    // Apollo Server answers request errors (parse, validation, variables) with 400 whatever the client
    // accepts, so that every client sees them as errors; the spec would have 200 for legacy JSON clients.
    assert.deepEqual(failing('warn'), [
      'SHOULD use 200 status code on document parsing failure when accepting application/json: Response status code is not 200',
      'SHOULD use 200 status code on document validation failure when accepting application/json: Response status code is not 200',
      'SHOULD use a status code of 200 on variable coercion failure when accepting application/json: Response status code is not 200',
    ]);
  });

  test('urql with its defaults: queries go as GET with no content type and are answered; mutations as POST', async () => {
    const methods: string[] = [];
    const client = new UrqlClient({
      url: api.graphqlUrl,
      exchanges: [cacheExchange, fetchExchange],
      // urql's own fetch, watched.
      fetch: (input, init) => {
        methods.push(init?.method ?? 'GET');
        return fetch(input, init);
      },
    });
    const query = await client.query(urqlGql`{ serviceInfo { version } presets { name } }`, {}).toPromise();
    assert.equal(query.error, undefined, String(query.error));
    assert.ok(query.data.serviceInfo.version);
    const mutation = await client.mutation(urqlGql`mutation($input: StartRunInput!) { startRun(input: $input) { id status } }`,
      { input: { contentImageId: content, styleImageIds: [style], ...tiny(1) } }).toPromise();
    assert.equal(mutation.error, undefined, String(mutation.error));
    assert.equal(mutation.data.startRun.status, 'QUEUED');
    assert.deepEqual(methods, ['GET', 'POST']);
    // What cannot change anything may come as a GET; what can still needs a request no plain cross-site form can make.
    const getMutation = await fetch(`${api.graphqlUrl}?query=${encodeURIComponent('mutation { deleteRun(id: "x") }')}`);
    assert.equal(getMutation.status, 405);
    const formPost = await fetch(api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: 'mutation { deleteRun(id: "x") }' }) });
    assert.equal(formPost.status, 400);
    assert.match(await formPost.text(), /Cross-Site Request Forgery/);
  });

  test('get-graphql-schema reads the schema, and graphql-inspector finds it equal to the committed schema.graphql', async () => {
    const bin = path.join(REPO_ROOT, 'node_modules', 'get-graphql-schema', 'dist', 'index.js');
    const { stdout } = await promisify(execFile)(process.execPath, [bin, api.graphqlUrl], { maxBuffer: 16 * 1024 * 1024 });
    const committed = readFileSync(path.join(REPO_ROOT, 'schema.graphql'), 'utf8');
    const changes = await diff(withFlowedDescriptions(committed), withFlowedDescriptions(stdout));
    assert.deepEqual(changes.map((change) => change.message), []);
  });

  test('Apollo Client: replaying a finished run\'s events leaves the run in the normalised cache as it is', async () => {
    const runId = await finishedRun(3);
    const client = new ApolloClient({ link: wsLink(api).link, cache: new InMemoryCache() });
    try {
      const watched = watch(client, runId);
      await watched.reached((run) => run.status === 'SUCCEEDED');
      const events = await collect(client, runId);
      assert.deepEqual(events.map((event) => event.status), ['QUEUED', 'RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED']);
      assert.deepEqual(events.filter((event) => event.kind === 'EPOCH').map((event) => event.epoch!.epoch), [1, 2, 3]);
      for (const event of events) assert.deepEqual(event.run, { __typename: 'Run', id: runId, status: 'SUCCEEDED', currentEpoch: 3 });
      assert.deepEqual([...new Set(watched.seen.map((run) => run.status))], ['SUCCEEDED']);
      watched.stop();
    } finally {
      client.stop();
    }
  });

  test('Apollo Client: through a dropped connection the cached run never goes back, and events are told apart by sequence', async () => {
    const { startRun } = await api.query(START, { input: { contentImageId: content, styleImageIds: [style], ...tiny(6) } });
    const ws = wsLink(api);
    const client = new ApolloClient({ link: ApolloLink.split(isSubscription, ws.link, new HttpLink({ uri: api.graphqlUrl })), cache: new InMemoryCache() });
    try {
      const watched = watch(client, startRun.id);
      // Cut the socket (no close handshake) after the first epoch; graphql-ws reconnects and subscribes again.
      const events = await collect(client, startRun.id, (event) => {
        if (event.kind === 'EPOCH' && ws.sockets.length === 1) ws.sockets[0].terminate();
      });
      assert.ok(ws.sockets.length >= 2, 'the client reconnected');
      // GraphQLWsLink subscribes again with the variables it started with, so earlier events come again:
      // their sequence tells them apart, and their run is the run as it is now.
      const shown = events.filter((event, i) => events.slice(0, i).every((earlier) => earlier.sequence < event.sequence));
      assert.deepEqual(shown.map((event) => event.sequence), Array.from({ length: shown.length }, (_, i) => i + 1));
      assert.deepEqual(shown.filter((event) => event.kind === 'EPOCH').map((event) => event.epoch!.epoch), [1, 2, 3, 4, 5, 6]);
      await watched.reached((run) => run.status === 'SUCCEEDED');
      for (let i = 1; i < watched.seen.length; i++) {
        const [before, now] = [watched.seen[i - 1], watched.seen[i]];
        assert.ok(STATUS_ORDER.indexOf(now.status) >= STATUS_ORDER.indexOf(before.status), `status went back: ${JSON.stringify(watched.seen)}`);
        assert.ok(now.currentEpoch >= before.currentEpoch, `epoch went back: ${JSON.stringify(watched.seen)}`);
      }
      watched.stop();
    } finally {
      client.stop();
    }
  });

  test('Apollo Sandbox is offered at GET /graphql and loads the schema from there', { skip: browserMissing() }, async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const problems = watchConsole(page);
      // Sandbox comes from Apollo's CDN, which this machine cannot reach: a stand-in for its script
      // sends what the real one relays from the landing page, the introspection query, to the endpoint it is given.
      const cdn: string[] = [];
      await page.route('https://embeddable-sandbox.cdn.apollographql.com/**', (route) => {
        cdn.push(route.request().url());
        return route.fulfill({ contentType: 'text/javascript', body: sandboxStandIn(getIntrospectionQuery({ inputValueDeprecation: true })) });
      });
      await page.goto(api.graphqlUrl);
      const schema = await page.waitForFunction(() => (globalThis as { loadedSchema?: unknown }).loadedSchema).then((handle) => handle.jsonValue()) as {
        endpoint: string; status: number; types: string[];
      };
      assert.equal(cdn.length, 1);
      assert.match(cdn[0], /embeddable-sandbox\.umd\.production\.min\.js/);
      assert.equal(schema.endpoint, api.graphqlUrl);
      assert.equal(schema.status, 200);
      for (const type of ['Run', 'RunEvent', 'StartRunInput', 'Mutation', 'Subscription']) assert.ok(schema.types.includes(type), type);
      // The landing page's own fonts and icons come from the web, which is closed here.
      assert.deepEqual(problems.filter((problem) => !problem.includes('ERR_BLOCKED_BY_CLIENT')), []);
    } finally {
      await browser.close();
    }
  });
});

/** The schema of an SDL text, every description's white space made one space (get-graphql-schema's graphql 14 wraps them at 80 columns). */
function withFlowedDescriptions(sdl: string): GraphQLSchema {
  return buildASTSchema(visit(parse(sdl), {
    enter(node: ASTNode) {
      const description = (node as { description?: StringValueNode }).description;
      return description ? { ...node, description: { ...description, value: description.value.replace(/\s+/g, ' ') } } : undefined;
    },
  }));
}

/** A GraphQLWsLink on graphql-ws's client, reconnecting at once, and the sockets it opened. */
function wsLink(api: TestApi): { link: GraphQLWsLink; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  const client = createClient({
    url: api.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 5,
    retryWait: async () => undefined,
    shouldRetry: () => true,
    on: { connected: (socket) => void sockets.push(socket as WebSocket) },
  });
  return { link: new GraphQLWsLink(client), sockets };
}

function isSubscription({ query }: { query: Parameters<typeof getMainDefinition>[0] }): boolean {
  const definition = getMainDefinition(query);
  return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
}

/** Every state of the run the cache shows a `run(id)` query, as a page watching it would see them. */
function watch(client: ApolloClient, id: string) {
  const seen: WatchedRun[] = [];
  const waiting: { until: (run: WatchedRun) => boolean; resolve: () => void }[] = [];
  const subscription = client.watchQuery<{ run: WatchedRun }>({ query: RUN_QUERY, variables: { id } }).subscribe((result) => {
    if (!result.data?.run) return;
    seen.push(result.data.run as WatchedRun);
    for (const wait of waiting) if (wait.until(result.data.run as WatchedRun)) wait.resolve();
  });
  return {
    seen,
    reached: (until: (run: WatchedRun) => boolean) => (seen.some(until) ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ until, resolve }))),
    stop: () => subscription.unsubscribe(),
  };
}

/** The events of a runEvents subscription through Apollo Client, until it completes. */
function collect(client: ApolloClient, runId: string, onEvent?: (event: EventData) => void): Promise<EventData[]> {
  const events: EventData[] = [];
  return new Promise((resolve, reject) => {
    client.subscribe<{ runEvents: EventData }>({ query: RUN_EVENTS, variables: { runId } }).subscribe({
      next: (result) => {
        if (result.error) return reject(result.error);
        events.push(result.data!.runEvents as EventData);
        onEvent?.(result.data!.runEvents as EventData);
      },
      error: reject,
      complete: () => resolve(events),
    });
  });
}

/** The script the landing page loads from Apollo's CDN, standing in for it: introspects the endpoint as Sandbox does and keeps what came back. */
function sandboxStandIn(introspection: string): string {
  return `window.EmbeddedSandbox = class {
    constructor(config) {
      fetch(config.initialEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: ${JSON.stringify(introspection)}, operationName: 'IntrospectionQuery' }),
      }).then(async (response) => {
        const body = await response.json();
        window.loadedSchema = { endpoint: config.initialEndpoint, status: response.status, types: body.data.__schema.types.map((type) => type.name) };
      });
    }
  };`;
}
