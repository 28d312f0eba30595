import type { GraphQLSchema } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLDateTimeISO, GraphQLJSONObject } from 'graphql-scalars';
import { typeDefs } from './typedefs.ts';
import { AuthMutations, Query, ResourceFields } from './resolvers.ts';
import { AlertMutations, PowerMutations, TenantMutations } from './mutations.ts';
import { Subscription } from './subscriptions.ts';
import { AdminMutations } from './admin.ts';
import { AccessQueries } from './access.ts';
import { AlertRuleMutations, ComplianceQueries } from './compliance.ts';

/**
 * The gateway schema without authorization middleware. SDL-first: tsx (how services and benches
 * run, from the repository root) emits no legacy decorators, so type-graphql classes cannot load.
 */
export function buildBaseSchema(): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs,
    resolvers: {
      DateTimeISO: GraphQLDateTimeISO,
      JSONObject: GraphQLJSONObject,
      Node: { __resolveType: (o: { __typename: string }) => o.__typename },
      Query: { ...Query, ...ComplianceQueries, ...AccessQueries },
      Mutation: {
        ...AuthMutations,
        ...AlertMutations,
        ...TenantMutations,
        ...PowerMutations,
        ...AdminMutations,
        ...AlertRuleMutations,
      },
      Subscription,
      Resource: ResourceFields,
    },
  });
}
