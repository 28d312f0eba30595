import './reflect-shim.ts';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { AlertNotification } from '@tenantgate/shared';
import type { GatewayContext } from '../context.ts';
import type { Resource, Task, Tenant } from '../types.ts';
import { AuthMutations, Query as QueryFields, ResourceFields } from '../resolvers.ts';
import { AlertMutations, PowerMutations, TenantMutations } from '../mutations.ts';
import { AdminMutations } from '../admin.ts';
import { AccessQueries } from '../access.ts';
import { AlertRuleMutations, ComplianceQueries } from '../compliance.ts';
import { Subscription as SubscriptionFields } from '../subscriptions.ts';
import type { TaskUpdate } from '../../subscriptions/task-feed.ts';
import type { Revoked } from '../../subscriptions/reauthorize.ts';
import {
  AccessReviewObject,
  AlertConnectionObject,
  AlertNotificationObject,
  AlertObject,
  AlertRuleObject,
  ApiTokenPayloadObject,
  AuditEventConnectionObject,
  AuditExportObject,
  ConnectionObject,
  DateTimeISO,
  ExportFormat,
  HygieneFindingObject,
  LoginPayloadObject,
  MeObject,
  MemberObject,
  NodeInterface,
  PowerAction,
  PowerActionPayloadObject,
  ResourceConnectionObject,
  ResourceObject,
  TaskConnectionObject,
  TaskObject,
  TaskUpdateObject,
  TenantMembershipObject,
  TenantObject,
} from './objects.ts';
import {
  AlertFilterInput,
  AlertRuleInputInput,
  AlertRulePatchInput,
  AuditLogFilterInput,
  ConnectionInputInput,
  ConnectionPatchInput,
  ResourceFilterInput,
  ResourceOrderInput,
  TaskFilterInput,
} from './inputs.ts';

// Thin resolver classes (STYLE.md principle 6): each declares one root field of the API and hands
// its arguments to the resolver function that asks the authorization service and calls the
// repositories. Authorization on root fields is graphql-shield's (auth/shield.ts), not @Authorized.

type Maybe<T> = T | null | undefined;
const NONE = {} as const;

@Resolver()
export class ReadResolver {
  @Query(() => MeObject, { description: 'The caller' })
  me(@Ctx() ctx: GatewayContext) {
    return QueryFields.me(null, NONE, ctx);
  }

  @Query(() => [TenantObject], { description: 'Tenants the caller may use' })
  tenants(@Ctx() ctx: GatewayContext) {
    return QueryFields.tenants(null, NONE, ctx);
  }

  @Query(() => TenantObject)
  tenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return QueryFields.tenant(null, { id }, ctx);
  }

  @Query(() => NodeInterface, { description: 'Any object by its global id; foreign and unknown ids are NOT_FOUND' })
  node(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return QueryFields.node(null, { id }, ctx);
  }

  @Query(() => [ConnectionObject], {
    description: 'PVE connections with sync health: all for provider roles, assigned ones for tenant admins',
  })
  connections(@Ctx() ctx: GatewayContext) {
    return QueryFields.connections(null, NONE, ctx);
  }

  @Query(() => ResourceConnectionObject, { description: 'Guests of the active tenant across its clusters' })
  resources(
    @Arg('first', () => Int, { nullable: true }) first: Maybe<number>,
    @Arg('after', () => String, { nullable: true }) after: Maybe<string>,
    @Arg('filter', () => ResourceFilterInput, { nullable: true }) filter: Maybe<ResourceFilterInput>,
    @Arg('orderBy', () => ResourceOrderInput, { nullable: true }) orderBy: Maybe<ResourceOrderInput>,
    @Ctx() ctx: GatewayContext,
  ) {
    return QueryFields.resources(null, { first, after, filter, orderBy }, ctx);
  }

  @Query(() => ResourceObject)
  resource(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return QueryFields.resource(null, { id }, ctx);
  }

  @Query(() => TaskConnectionObject, { description: "PVE tasks of the active tenant's guests, newest first" })
  tasks(
    @Arg('first', () => Int, { nullable: true }) first: Maybe<number>,
    @Arg('after', () => String, { nullable: true }) after: Maybe<string>,
    @Arg('filter', () => TaskFilterInput, { nullable: true }) filter: Maybe<TaskFilterInput>,
    @Ctx() ctx: GatewayContext,
  ) {
    return QueryFields.tasks(null, { first, after, filter }, ctx);
  }

  @Query(() => AuditEventConnectionObject, { description: "The active tenant's audit chain, or the provider chain" })
  auditLog(
    @Arg('filter', () => AuditLogFilterInput, { nullable: true }) filter: Maybe<AuditLogFilterInput>,
    @Arg('first', () => Int, { nullable: true }) first: Maybe<number>,
    @Arg('after', () => String, { nullable: true }) after: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return QueryFields.auditLog(null, { filter, first, after }, ctx);
  }

  @Query(() => AlertConnectionObject)
  alerts(
    @Arg('filter', () => AlertFilterInput, { nullable: true }) filter: Maybe<AlertFilterInput>,
    @Arg('first', () => Int, { nullable: true }) first: Maybe<number>,
    @Arg('after', () => String, { nullable: true }) after: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return QueryFields.alerts(null, { filter, first, after }, ctx);
  }

  @Query(() => AlertObject)
  alert(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return QueryFields.alert(null, { id }, ctx);
  }

  @Query(() => [AlertRuleObject], { description: 'Built-in rules and the active tenant’s own rules' })
  alertRules(@Ctx() ctx: GatewayContext) {
    return QueryFields.alertRules(null, NONE, ctx);
  }

  @Query(() => AuditExportObject, {
    description: 'Exports the filtered audit chain with its covering checkpoint; the export is itself audited',
  })
  auditExport(
    @Arg('filter', () => AuditLogFilterInput, { nullable: true }) filter: Maybe<AuditLogFilterInput>,
    @Arg('format', () => ExportFormat, { defaultValue: ExportFormat.JSONL }) format: ExportFormat,
    @Ctx() ctx: GatewayContext,
  ) {
    return ComplianceQueries.auditExport(null, { filter, format }, ctx);
  }

  @Query(() => AccessReviewObject, {
    description: 'Tenant Admin: who (portal users and PVE identities) can do what on a guest, with explanations',
  })
  accessReview(@Arg('resourceId', () => ID) resourceId: string, @Ctx() ctx: GatewayContext) {
    return AccessQueries.accessReview(null, { resourceId }, ctx);
  }

  @Query(() => [MemberObject], { description: 'Tenant Admin: the members of the active tenant' })
  members(@Ctx() ctx: GatewayContext) {
    return AccessQueries.members(null, NONE, ctx);
  }

  @Query(() => [HygieneFindingObject], {
    description: 'Portal Admin / Compliance Auditor: the security checklist over mirrored PVE access configuration',
  })
  hygieneFindings(
    @Arg('connectionId', () => ID, { nullable: true }) connectionId: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return AccessQueries.hygieneFindings(null, { connectionId }, ctx);
  }
}

/** Nested fields of Resource, batched per request by the DataLoaders in the context. */
@Resolver(() => ResourceObject)
export class ResourceFieldsResolver {
  @FieldResolver(() => [TaskObject], { description: 'The latest tasks of this guest' })
  tasks(@Root() resource: Resource, @Ctx() ctx: GatewayContext): Promise<Task[]> {
    return ResourceFields.tasks(resource, NONE, ctx);
  }

  @FieldResolver(() => TenantObject, { nullable: true })
  tenant(@Root() resource: Resource, @Ctx() ctx: GatewayContext): Promise<Tenant | null> {
    return ResourceFields.tenant(resource, NONE, ctx);
  }
}

@Resolver()
export class AccountResolver {
  @Mutation(() => LoginPayloadObject, { description: 'Local portal login; returns an opaque session token' })
  login(
    @Arg('username', () => String) username: string,
    @Arg('password', () => String) password: string,
    @Ctx() ctx: GatewayContext,
  ) {
    return AuthMutations.login(null, { username, password }, ctx);
  }

  @Mutation(() => Boolean, { description: 'Revokes the current session' })
  logout(@Ctx() ctx: GatewayContext) {
    return AuthMutations.logout(null, NONE, ctx);
  }

  @Mutation(() => ApiTokenPayloadObject, {
    description: 'A portal API token with a subset of your privileges (null: all of them)',
  })
  createApiToken(
    @Arg('name', () => String) name: string,
    @Arg('privileges', () => [String], { nullable: true }) privileges: Maybe<string[]>,
    @Arg('expiresAt', () => DateTimeISO, { nullable: true }) expiresAt: Maybe<Date>,
    @Ctx() ctx: GatewayContext,
  ) {
    return AuthMutations.createApiToken(null, { name, privileges, expiresAt }, ctx);
  }

  @Mutation(() => Boolean)
  revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return AuthMutations.revokeApiToken(null, { id }, ctx);
  }

  @Mutation(() => ApiTokenPayloadObject, {
    description: 'Replaces the secret of an API token; the old one stops working',
  })
  rotateApiToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return AuthMutations.rotateApiToken(null, { id }, ctx);
  }
}

@Resolver()
export class AlertResolver {
  @Mutation(() => AlertObject)
  acknowledgeAlert(
    @Arg('id', () => ID) id: string,
    @Arg('note', () => String, { nullable: true }) note: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return AlertMutations.acknowledgeAlert(null, { id, note }, ctx);
  }

  @Mutation(() => AlertObject)
  resolveAlert(
    @Arg('id', () => ID) id: string,
    @Arg('note', () => String, { nullable: true }) note: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return AlertMutations.resolveAlert(null, { id, note }, ctx);
  }

  @Mutation(() => AlertObject)
  silenceAlert(
    @Arg('id', () => ID) id: string,
    @Arg('note', () => String, { nullable: true }) note: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return AlertMutations.silenceAlert(null, { id, note }, ctx);
  }

  @Mutation(() => AlertRuleObject, {
    description: 'Tenant Admin: alert rules of the active tenant (kinds of the built-in rules)',
  })
  createAlertRule(@Arg('input', () => AlertRuleInputInput) input: AlertRuleInputInput, @Ctx() ctx: GatewayContext) {
    return AlertRuleMutations.createAlertRule(null, { input }, ctx);
  }

  @Mutation(() => AlertRuleObject)
  updateAlertRule(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => AlertRulePatchInput) input: AlertRulePatchInput,
    @Ctx() ctx: GatewayContext,
  ) {
    return AlertRuleMutations.updateAlertRule(null, { id, input }, ctx);
  }

  @Mutation(() => Boolean)
  deleteAlertRule(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return AlertRuleMutations.deleteAlertRule(null, { id }, ctx);
  }
}

@Resolver()
export class ProviderResolver {
  @Mutation(() => TenantObject)
  createTenant(
    @Arg('slug', () => String) slug: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GatewayContext,
  ) {
    return TenantMutations.createTenant(null, { slug, name }, ctx);
  }

  @Mutation(() => TenantObject)
  updateTenant(
    @Arg('id', () => ID) id: string,
    @Arg('name', () => String, { nullable: true }) name: Maybe<string>,
    @Arg('locked', () => Boolean, { nullable: true }) locked: Maybe<boolean>,
    @Ctx() ctx: GatewayContext,
  ) {
    return TenantMutations.updateTenant(null, { id, name, locked }, ctx);
  }

  @Mutation(() => Boolean, { description: 'Soft-deletes a tenant (its audit chain is kept)' })
  deleteTenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return TenantMutations.deleteTenant(null, { id }, ctx);
  }

  @Mutation(() => ConnectionObject, {
    description: 'Portal Admin: adds a PVE connection (fingerprint pinned, secret encrypted)',
  })
  addConnection(@Arg('input', () => ConnectionInputInput) input: ConnectionInputInput, @Ctx() ctx: GatewayContext) {
    return AdminMutations.addConnection(null, { input }, ctx);
  }

  @Mutation(() => ConnectionObject)
  updateConnection(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => ConnectionPatchInput) input: ConnectionPatchInput,
    @Ctx() ctx: GatewayContext,
  ) {
    return AdminMutations.updateConnection(null, { id, input }, ctx);
  }

  @Mutation(() => Boolean)
  removeConnection(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return AdminMutations.removeConnection(null, { id }, ctx);
  }

  @Mutation(() => ID, {
    description:
      'Portal Admin: assigns a guest (vmid), a PVE pool, or (neither) a whole connection to a tenant;\nreturns the assignment id. A move between tenants is audited in both chains.',
  })
  assign(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('connectionId', () => ID) connectionId: string,
    @Arg('vmid', () => Int, { nullable: true }) vmid: Maybe<number>,
    @Arg('pool', () => String, { nullable: true }) pool: Maybe<string>,
    @Ctx() ctx: GatewayContext,
  ) {
    return AdminMutations.assign(null, { tenantId, connectionId, vmid, pool }, ctx);
  }

  @Mutation(() => Boolean)
  unassign(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return AdminMutations.unassign(null, { id }, ctx);
  }
}

@Resolver()
export class TenantAdminResolver {
  @Mutation(() => TenantMembershipObject, {
    description: 'Tenant Admin: adds or changes a member of the active tenant',
  })
  setMembership(
    @Arg('username', () => String) username: string,
    @Arg('role', () => String) role: string,
    @Arg('privileges', () => [String]) privileges: string[],
    @Ctx() ctx: GatewayContext,
  ) {
    return AdminMutations.setMembership(null, { username, role, privileges }, ctx);
  }

  @Mutation(() => Boolean)
  removeMembership(@Arg('username', () => String) username: string, @Ctx() ctx: GatewayContext) {
    return AdminMutations.removeMembership(null, { username }, ctx);
  }

  @Mutation(() => PowerActionPayloadObject, {
    description:
      'A power action on a guest of the active tenant (needs VM.PowerMgmt). Calls PVE and records the\nreturned UPID with the portal user and tenant.',
  })
  powerAction(
    @Arg('resourceId', () => ID) resourceId: string,
    @Arg('action', () => PowerAction) action: PowerAction,
    @Ctx() ctx: GatewayContext,
  ) {
    return PowerMutations.powerAction(null, { resourceId, action }, ctx);
  }
}

@Resolver()
export class StreamResolver {
  @Subscription(() => TaskUpdateObject, {
    description: "Changes of PVE tasks on the active tenant's guests (from now, or after a cursor)",
    subscribe: ({ args, context }) => SubscriptionFields.taskUpdates.subscribe(null, args, context as GatewayContext),
  })
  taskUpdates(
    @Root() update: TaskUpdate | Revoked,
    @Arg('after', () => String, { nullable: true }) _after: Maybe<string>,
  ) {
    return SubscriptionFields.taskUpdates.resolve(update);
  }

  @Subscription(() => AlertNotificationObject, {
    description: 'Alert transitions of the active tenant: replay after `after` (an alert_event cursor), then live',
    subscribe: ({ args, context }) => SubscriptionFields.alertStream.subscribe(null, args, context as GatewayContext),
  })
  alertStream(
    @Root() notification: AlertNotification | Revoked,
    @Arg('after', () => String, { nullable: true }) _after: Maybe<string>,
    @Arg('filter', () => AlertFilterInput, { nullable: true }) _filter: Maybe<AlertFilterInput>,
  ) {
    return SubscriptionFields.alertStream.resolve(notification);
  }
}

export const RESOLVERS = [
  ReadResolver,
  ResourceFieldsResolver,
  AccountResolver,
  AlertResolver,
  ProviderResolver,
  TenantAdminResolver,
  StreamResolver,
] as const;
