import path from 'node:path';
import { defineConfig } from 'prisma/config';

// `prisma generate` insists on finding the native schema engine (and tries to
// download it) although generating never runs it. This project creates and
// applies migrations with @prisma/schema-engine-wasm instead (src/storage/), so
// a stub stands in for the binary; a real engine set in the environment wins.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(__dirname, 'prisma', 'schema-engine-stub');

export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
});
