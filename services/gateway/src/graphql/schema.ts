import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { QueryResolver, ResourceFieldsResolver, AuthResolver } from './resolvers.ts';
import { AlertMutationResolver, TenantMutationResolver } from './mutations.ts';
import { SubscriptionResolver } from './subscriptions.ts';
import { Alert, AuditEvent, Resource, Tenant } from './types.ts';

let built: Promise<GraphQLSchema> | undefined;

/** The gateway schema without authorization middleware (type-graphql metadata is global: build once). */
export function buildBaseSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [
      QueryResolver,
      ResourceFieldsResolver,
      AuthResolver,
      AlertMutationResolver,
      TenantMutationResolver,
      SubscriptionResolver,
    ],
    orphanedTypes: [Resource, Tenant, Alert, AuditEvent],
    validate: false,
    emitSchemaFile: false,
    // Required by type-graphql for Subscription fields; every subscription here brings its own
    // `subscribe` (replay + Redis fan-out in AlertFeed), so this in-process PubSub stays unused.
    pubSub: createPubSub(),
  });
  return built;
}
