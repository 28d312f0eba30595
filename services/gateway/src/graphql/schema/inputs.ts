import './reflect-shim.ts';
import { Field, ID, InputType, Int } from 'type-graphql';
import { DateTimeISO, GuestType, JSONObject, ResourceSortField, SortDirection } from './objects.ts';

// Input types, code-first. Instances arrive in resolvers as plain-field objects.

@InputType('ResourceOrder')
export class ResourceOrderInput {
  @Field(() => ResourceSortField) field!: ResourceSortField;
  @Field(() => SortDirection, { defaultValue: SortDirection.ASC }) direction!: SortDirection;
}

@InputType('ResourceFilter')
export class ResourceFilterInput {
  @Field(() => [ID], { nullable: true, description: 'Cluster (connection) ids' }) clusterIds?: string[] | null;
  @Field(() => String, { nullable: true }) node?: string | null;
  @Field(() => GuestType, { nullable: true }) type?: GuestType | null;
  @Field(() => String, { nullable: true }) status?: string | null;
  @Field(() => String, { nullable: true }) tag?: string | null;
  @Field(() => String, { nullable: true }) pool?: string | null;
  @Field(() => String, { nullable: true, description: 'Substring of the name, case-insensitive' })
  name?: string | null;
}

@InputType('TaskFilter')
export class TaskFilterInput {
  @Field(() => ID, { nullable: true }) resourceId?: string | null;
  @Field(() => String, { nullable: true }) outcome?: string | null;
  @Field(() => String, { nullable: true }) type?: string | null;
}

@InputType('AuditLogFilter')
export class AuditLogFilterInput {
  @Field(() => String, { nullable: true }) actor?: string | null;
  @Field(() => String, { nullable: true, description: "Exact action, or a prefix ending in '.'" })
  action?: string | null;
  @Field(() => String, { nullable: true }) outcome?: string | null;
  @Field(() => String, { nullable: true, description: 'Target id, name or ACL path' }) target?: string | null;
  @Field(() => String, { nullable: true }) srcIp?: string | null;
  @Field(() => DateTimeISO, { nullable: true }) from?: Date | null;
  @Field(() => DateTimeISO, { nullable: true }) to?: Date | null;
  @Field(() => String, { nullable: true }) text?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'The provider chain (Portal Admin / Compliance Auditor)' })
  provider?: boolean | null;
}

@InputType('AlertFilter')
export class AlertFilterInput {
  @Field(() => String, { nullable: true }) state?: string | null;
  @Field(() => String, { nullable: true }) severity?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'Provider-level alerts (Portal Admin / Compliance Auditor)',
  })
  provider?: boolean | null;
}

@InputType('ConnectionInput')
export class ConnectionInputInput {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'https://host:8006' }) baseUrl!: string;
  @Field(() => String, { description: 'SHA-256 certificate fingerprint, pinned on every connection' })
  fingerprint!: string;
  @Field(() => String, { description: 'user@realm!tokenname' }) tokenId!: string;
  @Field(() => String, { description: 'The token secret; stored encrypted (AES-256-GCM), never returned' })
  secret!: string;
  @Field(() => Int, { nullable: true }) pollIntervalMs?: number | null;
}

@InputType('ConnectionPatch')
export class ConnectionPatchInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) baseUrl?: string | null;
  @Field(() => String, { nullable: true }) fingerprint?: string | null;
  @Field(() => String, { nullable: true }) tokenId?: string | null;
  @Field(() => String, { nullable: true }) secret?: string | null;
  @Field(() => Int, { nullable: true }) pollIntervalMs?: number | null;
  @Field(() => Boolean, { nullable: true }) enabled?: boolean | null;
}

@InputType('AlertRuleInput')
export class AlertRuleInputInput {
  @Field(() => String) code!: string;
  @Field(() => String) kind!: string;
  @Field(() => String) name!: string;
  @Field(() => String) severity!: string;
  @Field(() => JSONObject, { nullable: true }) params?: Record<string, unknown> | null;
  @Field(() => JSONObject, { nullable: true }) scope?: Record<string, unknown> | null;
  @Field(() => Boolean, { nullable: true }) enabled?: boolean | null;
}

@InputType('AlertRulePatch')
export class AlertRulePatchInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) severity?: string | null;
  @Field(() => JSONObject, { nullable: true }) params?: Record<string, unknown> | null;
  @Field(() => JSONObject, { nullable: true }) scope?: Record<string, unknown> | null;
  @Field(() => Boolean, { nullable: true }) enabled?: boolean | null;
}
