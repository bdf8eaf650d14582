import 'reflect-metadata';
import { createPubSub } from '@graphql-yoga/subscription';
import { printSchema, type GraphQLSchema } from 'graphql';
import path from 'node:path';
import { buildSchemaSync } from 'type-graphql';
import { PROJECT_ROOT } from '../config.js';
import { ImageResolver } from './resolvers/image-resolver.js';
import { PresetResolver } from './resolvers/preset-resolver.js';
import { RunEventsResolver } from './resolvers/run-events-resolver.js';
import { RunEpochResolver, RunFrameResolver, RunResolver } from './resolvers/run-resolver.js';
import { ServiceInfoResolver } from './resolvers/service-info-resolver.js';

/** The committed SDL (`npm run schema:emit` writes it; a test fails when it is stale). */
export const SCHEMA_FILE = path.join(PROJECT_ROOT, 'schema.graphql');

export function buildApiSchema(): GraphQLSchema {
  return buildSchemaSync({
    resolvers: [ImageResolver, PresetResolver, RunResolver, RunEpochResolver, RunFrameResolver, RunEventsResolver, ServiceInfoResolver],
    // No class-validator: the services validate input (and name the field).
    validate: false,
    // Never published to: runEvents has its own `subscribe` (RunEventBus), but type-graphql requires a PubSub.
    pubSub: createPubSub(),
  });
}

export function schemaFileText(schema: GraphQLSchema): string {
  return `# Generated from src/graphql by \`npm run schema:emit\`; do not edit.\n\n${printSchema(schema)}\n`;
}
