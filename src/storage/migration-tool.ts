/**
 * Creates and checks migrations offline (development only; uses the
 * devDependencies @prisma/schema-engine-wasm and @prisma/driver-adapter-utils).
 * `prisma migrate dev` cannot run here: it needs the native schema engine. The
 * WASM schema engine computes the same SQL, replaying the committed migrations
 * into a scratch in-memory PGlite (its "shadow database") and diffing the
 * result against schema.prisma, so no database server is involved.
 *
 *   node dist/src/storage/migration-tool.js create <name>   (npm run db:migrate:create -- <name>)
 *   node dist/src/storage/migration-tool.js check           (npm run db:check; exit 1 on drift)
 */
import { PGlite } from '@electric-sql/pglite';
import { bindMigrationAwareSqlAdapterFactory, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import fs from 'node:fs';
import path from 'node:path';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { MIGRATIONS_DIR, PROJECT_ROOT } from '../config.js';
import { readMigrations } from './migrations.js';

export const SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'schema.prisma');

type SchemaEngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');
type SchemaEngine = Awaited<ReturnType<SchemaEngineModule['SchemaEngine']['new']>>;

let engineModule: Promise<SchemaEngineModule> | undefined;

/** The project compiles without the DOM library, which is where TypeScript declares WebAssembly. */
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: {
    instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
  };
};

/** The package's own entry imports the .wasm as an ES module, which Node 20 cannot: instantiate it by hand. */
function loadEngineModule(): Promise<SchemaEngineModule> {
  engineModule ??= (async () => {
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm');
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return engineModule;
}

let emptyCluster: Promise<Blob> | undefined;

/** A fresh in-memory PostgreSQL. initdb runs once; later ones load its dump (~5x faster). */
async function scratchPglite(): Promise<PGlite> {
  emptyCluster ??= (async () => {
    const first = await PGlite.create();
    try {
      return await first.dumpDataDir('gzip');
    } finally {
      await first.close();
    }
  })();
  return PGlite.create({ loadDataDir: await emptyCluster });
}

/**
 * A driver adapter factory where every connection, main or shadow, is a new
 * scratch database (the tool only diffs). `close` closes them all: the engine
 * does not, and open PGlites keep the process alive.
 */
function scratchFactory(): SqlMigrationAwareDriverAdapterFactory & { close(): Promise<void> } {
  const opened: PGlite[] = [];
  const connect = async (): Promise<SqlDriverAdapter> => {
    const pglite = await scratchPglite();
    opened.push(pglite);
    const adapter = await new PrismaPGlite(pglite).connect();
    // pglite-prisma-adapter 0.7.2 neither awaits a script nor reports its error,
    // so a failing migration would look applied: run scripts ourselves.
    adapter.executeScript = async (script) => { await pglite.exec(script); };
    return adapter;
  };
  return {
    provider: 'postgres',
    adapterName: 'stylegraph-scratch-pglite',
    connect,
    connectToShadowDb: connect,
    async close() {
      await Promise.all(opened.map((pglite) => pglite.close()));
    },
  };
}

async function withSchemaEngine<T>(schemaText: string, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const logs: string[] = [];
  const factory = scratchFactory();
  try {
    const engine = await SchemaEngine.new(
      { datamodels: [[SCHEMA_PATH, schemaText]] },
      (line: string) => logs.push(line),
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${logs.join('\n')}`);
  } finally {
    await factory.close();
  }
}

/**
 * The SQL that would take a database from the committed migrations to
 * `schemaText`; null when they agree (no drift).
 */
export async function migrationDiff(schemaText: string, migrationsDir: string): Promise<string | null> {
  const migrationsList = {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: readLockfile(migrationsDir) },
    shadowDbInitScript: '',
    migrationDirectories: readMigrations(migrationsDir).map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: m.script } },
    })),
  };
  const result = await withSchemaEngine(schemaText, (engine) => engine.diff({
    from: { tag: 'migrations', ...migrationsList },
    to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schemaText }] },
    script: true,
    exitCode: true,
    filters: { externalTables: [], externalEnums: [] },
  }));
  // exitCode 2: the diff is not empty.
  return result.exitCode === 2 ? result.stdout ?? '' : null;
}

const LOCKFILE = '# Written by src/storage/migration-tool.ts; Prisma reads it too.\nprovider = "postgresql"\n';

function readLockfile(migrationsDir: string): string | null {
  const file = path.join(migrationsDir, 'migration_lock.toml');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Writes prisma/migrations/<timestamp>_<name>/migration.sql; returns its folder, or null when nothing changed. */
export async function createMigration(name: string, schemaText: string, migrationsDir: string): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`migration name must be snake_case letters and digits, got "${name}"`);
  // The engine learns the database kind from the lock file, even for the first migration.
  if (readLockfile(migrationsDir) === null) fs.writeFileSync(path.join(migrationsDir, 'migration_lock.toml'), LOCKFILE);
  const script = await migrationDiff(schemaText, migrationsDir);
  if (script === null) return null;
  const folder = path.join(migrationsDir, `${timestamp(new Date())}_${name}`);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'migration.sql'), script);
  return folder;
}

async function main(args: string[]): Promise<number> {
  const schemaText = fs.readFileSync(SCHEMA_PATH, 'utf8');
  fs.mkdirSync(MIGRATIONS_DIR, { recursive: true });
  const [command, name] = args;
  if (command === 'create' && name) {
    const folder = await createMigration(name, schemaText, MIGRATIONS_DIR);
    console.log(folder ? `created ${path.relative(PROJECT_ROOT, folder)}` : 'schema.prisma matches the migrations: nothing to create');
    return 0;
  }
  if (command === 'check') {
    const drift = await migrationDiff(schemaText, MIGRATIONS_DIR);
    if (drift === null) {
      console.log('schema.prisma and prisma/migrations agree');
      return 0;
    }
    console.error(`schema.prisma and prisma/migrations differ; create a migration (npm run db:migrate:create -- <name>). Missing SQL:\n${drift}`);
    return 1;
  }
  console.error('usage: migration-tool create <name> | check');
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
