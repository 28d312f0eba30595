import { describe, expect, it } from 'vitest';
import { diffInventory, guestRowChanged, guestStateFromResource, type GuestState } from './inventory-diff.ts';

const g = (vmid: number, over: Partial<GuestState> = {}): GuestState => ({
  vmid,
  type: 'qemu',
  node: 'pve1',
  name: `vm${vmid}`,
  status: 'running',
  pool: 'acme',
  tags: [],
  template: false,
  maxcpu: 2,
  maxmem: 1024,
  maxdisk: 2048,
  ...over,
});
const map = (...gs: GuestState[]): Map<number, GuestState> => new Map(gs.map((x) => [x.vmid, x]));

describe('diffInventory', () => {
  it('reports created and deleted guests', () => {
    const changes = diffInventory(map(g(100), g(101)), map(g(101), g(102)));
    expect(changes.map((c) => [c.kind, c.vmid])).toEqual([
      ['deleted', 100],
      ['created', 102],
    ]);
  });

  it('reports every kind of change of one guest separately', () => {
    const changes = diffInventory(
      map(g(100)),
      map(g(100, { node: 'pve2', pool: 'globex', status: 'stopped', name: 'renamed' })),
    );
    expect(changes.map((c) => c.kind)).toEqual(['moved_node', 'moved_pool', 'state_changed', 'config_changed']);
    expect(changes[3]?.fields).toEqual(['name']);
  });

  it('reports nothing for an unchanged inventory, and tags compare as sets', () => {
    expect(diffInventory(map(g(100, { tags: ['a', 'b'] })), map(g(100, { tags: ['a', 'b'] })))).toEqual([]);
    expect(guestRowChanged(g(100), g(100))).toBe(false);
    expect(guestRowChanged(undefined, g(100))).toBe(true);
  });

  it('decodes a /cluster/resources guest (tags are ;-separated, template defaults to false)', () => {
    const s = guestStateFromResource({
      id: 'lxc/105',
      type: 'lxc',
      vmid: 105,
      node: 'n1',
      status: 'stopped',
      tags: 'web;prod',
      raw: {},
    });
    expect(s).toMatchObject({ vmid: 105, type: 'lxc', tags: ['prod', 'web'], template: false, pool: null, name: null });
  });
});
