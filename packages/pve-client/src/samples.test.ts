import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  aclSchema,
  clusterLogSchema,
  clusterResourcesSchema,
  clusterStatusSchema,
  clusterTasksSchema,
  groupsSchema,
  logLinesSchema,
  lxcListItemSchema,
  nodeListSchema,
  nodeTasksSchema,
  parseUpid,
  permissionsSchema,
  poolDetailListSchema,
  poolListSchema,
  qemuListItemSchema,
  rolesSchema,
  taskStatusSchema,
  userDetailSchema,
  userTokensSchema,
  usersSchema,
  versionSchema,
} from './index.ts';
import { schemaError } from './http-body.ts';
import { z as zod } from 'zod';

// The PVE response samples collected in shared/pve/samples (see its README.md for provenance and licences).
const SAMPLES = new URL('../../../../shared/pve/samples/', import.meta.url);

function load(file: string): { data: unknown } & Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, SAMPLES), 'utf8')) as { data: unknown };
}

function parse<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  const result = schema.safeParse(load(file).data);
  if (!result.success) throw schemaError({ connection: 'samples', endpoint: file }, ['data'], result.error);
  return result.data;
}

const tested = new Set<string>();
function sample(file: string, fn: () => void): void {
  tested.add(file);
  it(file, fn);
}

describe('real and synthetic PVE samples parse with the matching endpoint schema', () => {
  sample('version-SYNTHETIC.json', () => {
    const v = parse('version-SYNTHETIC.json', versionSchema);
    expect(v).toMatchObject({ version: '9.1-1', release: '9.1', repoid: '9a1b2c3d' });
    expect(v.console).toBeUndefined();
  });

  sample('cluster-status.json', () => {
    const items = parse('cluster-status.json', clusterStatusSchema);
    const cluster = items.find((i) => i.type === 'cluster');
    expect(cluster).toMatchObject({ name: 'clustername', nodes: 4, quorate: true, version: 4 });
    const node1 = items.find((i) => i.type === 'node' && i.name === 'node1');
    expect(node1).toMatchObject({ nodeid: 1, local: true, online: true, ip: '192.168.1.1' });
    expect(items.filter((i) => i.type === 'node')).toHaveLength(4);
  });

  sample('cluster-resources.json', () => {
    const items = parse('cluster-resources.json', clusterResourcesSchema);
    expect(items.map((i) => i.type)).toEqual(['qemu', 'lxc', 'node', 'storage', 'storage', 'storage', 'sdn']);
    const vm = items[0]!;
    expect(vm).toMatchObject({ id: 'qemu/100', vmid: 100, template: false, status: 'running', name: 'vm-test-01' });
    expect((vm as { raw: Record<string, unknown> }).raw.template).toBe(0);
    expect(items[2]).toMatchObject({ type: 'node', 'cgroup-mode': 2, level: '' });
    expect(items.find((i) => i.id === 'storage/pve/shared')).toMatchObject({ shared: true, plugintype: 'nfs' });
    expect(items[6]).toMatchObject({ sdn: 'localnetwork', status: 'ok' });
  });

  sample('cluster-resources-4node.json', () => {
    const items = parse('cluster-resources-4node.json', clusterResourcesSchema);
    const template = items.find((i) => i.id === 'qemu/101');
    expect(template).toMatchObject({ template: true, vmid: 101, node: 'node1' });
    expect(new Set(items.map((i) => i.type))).toEqual(new Set(['qemu', 'node', 'storage']));
  });

  sample('cluster-resources-type-vm.json', () => {
    const items = parse('cluster-resources-type-vm.json', clusterResourcesSchema);
    expect(items.every((i) => i.type === 'qemu' || i.type === 'lxc')).toBe(true);
    expect(items.find((i) => i.id === 'qemu/101')).toMatchObject({ pool: 'pool1', node: 'pve2' });
    expect(items.find((i) => i.id === 'lxc/105')).toMatchObject({ name: '', vmid: 105 });
  });

  sample('cluster-tasks-SYNTHETIC.json', () => {
    const tasks = parse('cluster-tasks-SYNTHETIC.json', clusterTasksSchema);
    expect(tasks).toHaveLength(2);
    expect(tasks[0]).toMatchObject({ type: 'vzdump', id: '100', status: 'OK', endtime: 1700000060 });
    expect(tasks[1]!.endtime).toBeUndefined();
  });

  sample('cluster-log-reconstructed.json', () => {
    const [entry] = parse('cluster-log-reconstructed.json', clusterLogSchema);
    expect(entry).toMatchObject({
      uid: 5327,
      pri: 6,
      tag: 'pvedaemon',
      id: '5327:pve',
      msg: "successful auth for user 'root@pam'",
    });
  });

  sample('cluster-log-SYNTHETIC.json', () => {
    // Hand-written mock without uid/pid/id, which real PVE always sends (formats.md §4.1); pve-sync dedups on
    // `uid:node`, so the schema must refuse it and name the missing field.
    const result = clusterLogSchema.safeParse(load('cluster-log-SYNTHETIC.json').data);
    expect(result.success).toBe(false);
    const err = schemaError({ connection: 'samples', endpoint: 'GET /cluster/log' }, ['data'], result.error!);
    expect(err.field).toBe('data[0].uid');
    expect(err.issues.some((i) => i.startsWith('data[0].id:'))).toBe(true);
    expect(err.message).toContain('samples: GET /cluster/log');
  });

  sample('nodes.json', () => {
    const nodes = parse('nodes.json', nodeListSchema);
    expect(nodes.map((n) => n.node)).toEqual(['node1', 'node2', 'node3', 'node4']);
    expect(nodes[0]!.ssl_fingerprint).toMatch(/^80:D4:F2/);
    expect(nodes[0]!.maxcpu).toBe(12);
  });

  sample('nodes-node-tasks.json', () => {
    const tasks = parse('nodes-node-tasks.json', nodeTasksSchema);
    expect(tasks[1]).toMatchObject({
      pid: 10717,
      pstart: 362369675,
      starttime: 1627975784,
      status: "command 'ifreload -a' failed: exit code 1",
    });
    for (const t of tasks) {
      const u = parseUpid(t.upid);
      expect({
        node: u.node,
        pid: u.pid,
        pstart: u.pstart,
        starttime: u.starttime,
        type: u.type,
        id: u.id,
        user: u.user,
      }).toEqual({
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        user: t.user,
      });
    }
  });

  sample('nodes-node-tasks-source-all.json', () => {
    const tasks = parse('nodes-node-tasks-source-all.json', nodeTasksSchema);
    expect(tasks[0]).toMatchObject({ saved: false, status: 'RUNNING', type: 'vzdump', id: '103' });
    expect(tasks[0]!.endtime).toBeUndefined();
    expect(tasks[1]).toMatchObject({ id: '', type: 'aptupdate', status: 'OK' });
    expect(tasks[1]!.saved).toBeUndefined();
  });

  sample('nodes-node-tasks-upid-status.json', () => {
    const s = parse('nodes-node-tasks-upid-status.json', taskStatusSchema);
    expect(s).toMatchObject({ status: 'stopped', exitstatus: 'OK', pid: 851036, pstart: 65589443, id: '' });
  });

  sample('nodes-node-tasks-upid-log.json', () => {
    const lines = parse('nodes-node-tasks-upid-log.json', logLinesSchema);
    expect(lines).toHaveLength(8);
    expect(lines[7]).toEqual({ n: 8, t: 'TASK OK' });
  });

  sample('nodes-node-qemu.json', () => {
    const vms = parse('nodes-node-qemu.json', zod.array(qemuListItemSchema));
    expect(vms.map((v) => v.vmid)).toEqual([101, 100]);
    expect(vms[1]).toMatchObject({ status: 'running', pid: 4076688, cpus: 1 });
    expect(vms[1]!.raw.cpu).toBe(0.174069059487628);
  });

  sample('nodes-node-lxc.json', () => {
    const cts = parse('nodes-node-lxc.json', zod.array(lxcListItemSchema));
    // vmid arrives as a string on this endpoint; the typed result is a number, the raw item keeps the string.
    expect(cts.map((c) => c.vmid)).toEqual([103, 102, 104, 105]);
    expect(cts[0]!.raw.vmid).toBe('103');
    expect(cts[1]).toMatchObject({ type: 'lxc', status: 'running', maxswap: 536870912 });
  });

  sample('access-users.json', () => {
    const users = parse('access-users.json', usersSchema);
    expect(users.map((u) => u.userid)).toEqual(['pam@pam', 'root@pam', 'user1@pve', 'user2@pve']);
    expect(users[0]).toMatchObject({ enable: true, expire: 0, 'realm-type': 'pam', firstname: 'pamfirst' });
    // full=0: no groups/tokens keys at all
    expect(users[0]!.tokens).toBeUndefined();
    expect(users[0]!.groups).toBeUndefined();
  });

  sample('access-users-userid.json', () => {
    const user = parse('access-users-userid.json', userDetailSchema);
    expect(user.groups).toEqual(['cloud-init', 'test']);
    expect(user.tokens).toEqual({ token1: { privsep: false, expire: 1000 }, token2: { privsep: true, expire: 2000 } });
    expect(user.enable).toBe(true);
  });

  sample('access-users-userid-token.json', () => {
    const tokens = parse('access-users-userid-token.json', userTokensSchema);
    expect(tokens).toEqual([
      { tokenid: 'test', privsep: false, expire: 100, comment: 'comment' },
      { tokenid: 'test2', privsep: true, expire: 0, comment: 'comment' },
    ]);
  });

  sample('access-groups.json', () => {
    const groups = parse('access-groups.json', groupsSchema);
    expect(groups[0]).toEqual({ groupid: 'cloud-init', users: ['root@pam', 'user1@pve'] });
  });

  sample('access-acl.json', () => {
    expect(parse('access-acl.json', aclSchema)).toEqual([
      { path: '/', type: 'group', ugid: 'cloud-init', roleid: 'PVEAdmin', propagate: true },
    ]);
  });

  sample('access-roles-pve7.json', () => {
    const roles = parse('access-roles-pve7.json', rolesSchema);
    expect(roles.find((r) => r.roleid === 'NoAccess')).toEqual({ roleid: 'NoAccess', privs: [], special: true });
    expect(roles.find((r) => r.roleid === 'test')).toEqual({ roleid: 'test', privs: ['Pool.Audit'], special: false });
    expect(roles.find((r) => r.roleid === 'PVEAuditor')!.privs).toContain('Sys.Audit');
  });

  sample('access-permissions-pve7.json', () => {
    const perms = parse('access-permissions-pve7.json', permissionsSchema);
    expect(Object.keys(perms)).toContain('/');
    expect(perms['/']!['Sys.Audit']).toBe(true);
  });

  sample('pools.json', () => {
    expect(parse('pools.json', poolListSchema)).toEqual([{ poolid: 'test-pool', comment: 'Test pool' }]);
  });

  sample('pools-poolid.json', () => {
    const [pool] = parse('pools-poolid.json', poolDetailListSchema);
    expect(pool!.members.map((m) => m.id)).toEqual(['qemu/100', 'qemu/106', 'storage/node1/local']);
    expect(pool!.members[0]).toMatchObject({ vmid: 100, template: false });
    expect(pool!.members[2]).toMatchObject({ type: 'storage', shared: false });
  });

  it('every sample file has a test', () => {
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => !tested.has(f))).toEqual([]);
  });
});
