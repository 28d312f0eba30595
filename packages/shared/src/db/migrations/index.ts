import { Migration20261123000001Initial } from './Migration20261123000001Initial.ts';
import { Migration20261123000002AlertEventXid } from './Migration20261123000002AlertEventXid.ts';

/** Every migration, in order. New migrations are appended here (checked by migrations.test.ts). */
export const migrationsList = [
  { name: 'Migration20261123000001Initial', class: Migration20261123000001Initial },
  { name: 'Migration20261123000002AlertEventXid', class: Migration20261123000002AlertEventXid },
];
