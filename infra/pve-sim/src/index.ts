// @tenantgate/pve-sim — the reviewed public surface.
export {
  startSimulator,
  SimCluster,
  DEFAULT_TASK_ARCHIVE_INTERVAL_S,
  type Simulator,
  type SimulatorOptions,
  type FaultKnobs,
  type TokenCredentials,
} from './simulator.ts';
export {
  DEMO_SCENARIO,
  scaleScenario,
  buildCluster,
  ROOT_TOKEN_NAME,
  SYNC_USER,
  SYNC_TOKEN_NAME,
  SYSLOG_ROLE,
  type ScenarioSpec,
  type ClusterSpec,
} from './scenario.ts';
export { ManualClock, systemClock, type Clock } from './clock.ts';
export { formatUpid, decodeUpid, type UpidFields } from './upid.ts';
export { NO_FAULTS, type FaultSettings } from './faults.ts';
export type {
  ClusterState,
  SimGuest,
  SimNode,
  AddTaskInput,
  CreateGuestInput,
  PowerAction,
} from './model/cluster-state.ts';
export { ActivityGenerator } from './activity.ts';
