/**
 * The page's GraphQL operations (src/web/app/api.ts, compiled by vite, not by
 * this project's tsc) are valid against the committed schema.graphql, so a
 * schema change that would break the page fails here without a browser.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildSchema, parse, validate } from 'graphql';

const ROOT = path.resolve(__dirname, '../../..');

/** The operation documents in api.ts, with its `${FRAGMENT}` constants expanded. */
function pageOperations(): { name: string; document: string }[] {
  const source = readFileSync(path.join(ROOT, 'src/web/app/api.ts'), 'utf8');
  const constants = new Map<string, string>();
  for (const match of source.matchAll(/^const ([A-Z_]+) = (`[^`]*`|'[^']*');$/gm)) constants.set(match[1], match[2].slice(1, -1));
  const expand = (text: string): string => text.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = constants.get(name);
    assert.ok(value !== undefined, `api.ts defines ${name}`);
    return expand(value);
  });
  return [...source.matchAll(/[`']((?:query|mutation|subscription) (\w+)[^`']*)[`']/g)]
    .map((match) => ({ name: match[2], document: expand(match[1]) }));
}

describe('web page API operations', () => {
  it('are all valid against schema.graphql', () => {
    const schema = buildSchema(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    const operations = pageOperations();
    assert.deepEqual(operations.map((op) => op.name).sort(),
      ['CancelRun', 'DeleteRun', 'EstimateRun', 'Limits', 'Presets', 'Run', 'RunEvents', 'RunSteps', 'Runs', 'StartRun', 'UploadImage']);
    for (const { name, document } of operations) {
      assert.deepEqual(validate(schema, parse(document)).map((error) => error.message), [], name);
    }
  });
});
