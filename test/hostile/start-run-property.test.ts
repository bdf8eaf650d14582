/**
 * A property over every field of StartRunInput, read from the schema itself
 * (a field added later is covered too): whatever values each field holds
 * (hostile numbers, as numbers and as strings, wrong types, unknown enum
 * values, oversized lists), startRun answers below 500 and never
 * INTERNAL_SERVER_ERROR, a refusal names a field and writes nothing, and the
 * server keeps answering. fast-check with a fixed seed: the same cases on
 * every run, and a failure shrinks to the smallest input that shows it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { getNamedType, getNullableType, GraphQLEnumType, GraphQLInputObjectType, GraphQLList, type GraphQLInputType } from 'graphql';
import { buildApiSchema } from '../../src/graphql/schema.js';
import { TestApi } from '../graphql/harness.js';

const HOSTILE_NUMBERS = [0, -0, -1, 1, 0.5, 15, 16, 17, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, 1e-9, 8192, 8193, 1e4, 99999];
const HOSTILE_STRINGS = ['', ' ', '1', '-1', '1e999', 'NaN', 'Infinity', '0x10', '1_000', '２', 'null', '\u0000', 'x'.repeat(10_000)];

describe('startRun over every field of its input (property, fast-check)', () => {
  let api: TestApi;
  let images: string[];
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api' });
    images = [await api.createImage(1), await api.createImage(2)];
  });
  after(() => api?.close());

  /** Any value a client could send for a field of this type: well-typed and not. */
  function valueFor(type: GraphQLInputType): fc.Arbitrary<unknown> {
    const named = getNamedType(type);
    const wrong = fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.constantFrom(...HOSTILE_STRINGS), fc.constant(true), fc.constant(null), fc.constant({}));
    let right: fc.Arbitrary<unknown>;
    if (named instanceof GraphQLEnumType) right = fc.constantFrom(...named.getValues().map((value) => value.name));
    else if (named.name === 'Int') right = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -2, max: 600 }), fc.constantFrom(...HOSTILE_NUMBERS.filter(Number.isInteger)));
    else if (named.name === 'Float') right = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...HOSTILE_NUMBERS));
    else if (named.name === 'Boolean') right = fc.boolean();
    else if (named.name === 'ID') right = fc.oneof(fc.constantFrom(...images), fc.constant('00000000-0000-4000-8000-000000000000'), fc.string({ maxLength: 80 }));
    else right = fc.oneof(fc.constantFrom('wave', 'udnie', 'la_muse'), fc.string({ maxLength: 40 }));
    const item = fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: wrong });
    if (getNullableType(type) instanceof GraphQLList) {
      return fc.oneof({ weight: 4, arbitrary: fc.array(item, { maxLength: 12 }) }, { weight: 1, arbitrary: item }, { weight: 1, arbitrary: fc.constant(Array(300).fill(images[0])) });
    }
    return item;
  }

  test('150 generated inputs: no 5xx, no INTERNAL_SERVER_ERROR, refusals name a field and write nothing', async () => {
    const input = buildApiSchema().getType('StartRunInput') as GraphQLInputObjectType;
    const fields = Object.values(input.getFields());
    assert.ok(fields.length >= 20, `${fields.length} fields`);
    const inputs = fc.record(Object.fromEntries(fields.map((field) => [field.name, valueFor(field.type)])), { requiredKeys: [] });
    const runs = () => api.service.db.prisma.run.count();

    await fc.assert(fc.asyncProperty(inputs, async (value) => {
      const before = await runs();
      const reply = await api.request('mutation($i: StartRunInput!) { startRun(input: $i) { id } }', { i: value });
      assert.ok(reply.status < 500, `HTTP ${reply.status}: ${JSON.stringify(reply.errors)}`);
      const codes = (reply.errors ?? []).map((error) => error.extensions?.code);
      assert.ok(!codes.includes('INTERNAL_SERVER_ERROR'), JSON.stringify(reply.errors));
      if (reply.errors) {
        assert.equal(await runs(), before, 'a refused input writes nothing');
        // Wrong types are refused while the variables are coerced (their path in the message); the service's refusals name the field.
        for (const error of reply.errors) {
          assert.equal(error.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(error).slice(0, 500));
          assert.ok(error.extensions?.field !== undefined || reply.status === 400, JSON.stringify(error).slice(0, 500));
        }
      } else {
        assert.equal(await runs(), before + 1);
      }
    }), { seed: 20261202, numRuns: 150 });

    assert.equal((await api.query('{ serviceInfo { version } }')).serviceInfo.version.length > 0, true);
  });
});
