import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildApiSchema, SCHEMA_FILE, schemaFileText } from '../../src/graphql/schema.js';

test('schema.graphql is what the code emits (run `npm run schema:emit` after changing the API)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaFileText(buildApiSchema()));
});
