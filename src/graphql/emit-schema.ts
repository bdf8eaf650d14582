/** `npm run schema:emit`: writes schema.graphql from the code. */
import { writeFileSync } from 'node:fs';
import { buildApiSchema, SCHEMA_FILE, schemaFileText } from './schema.js';

writeFileSync(SCHEMA_FILE, schemaFileText(buildApiSchema()));
console.log(`wrote ${SCHEMA_FILE}`);
