import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import { RESOLVERS } from './schema/resolvers.ts';

/**
 * type-graphql insists on a PubSub once a schema has subscriptions, but every @Subscription here
 * brings its own `subscribe` (Postgres replay, then Redis fan-out in AlertFeed/TaskFeed): topic
 * subscriptions are a programming error.
 */
const noTopicPubSub: PubSub = {
  publish: () => {
    throw new Error('type-graphql PubSub is not used: publish through AlertFeed/TaskFeed');
  },
  subscribe: () => {
    throw new Error('type-graphql topic subscriptions are not used: give @Subscription a subscribe');
  },
};

/**
 * The gateway schema without authorization middleware, built code-first by type-graphql from the
 * classes in ./schema/. graphql-shield is applied to the result (auth/shield.ts); no @Authorized.
 * schema.snapshot.graphql pins the printed API (schema.test.ts).
 */
export function buildBaseSchema(): GraphQLSchema {
  return buildSchemaSync({
    resolvers: [...RESOLVERS],
    pubSub: noTopicPubSub,
    validate: false,
    emitSchemaFile: false,
  });
}
