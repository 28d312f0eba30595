// pve-sync allocates in bursts (a first sync of a large cluster builds tens of thousands of events)
// while its live heap stays small (~60 MB). V8's default heap growth lets the heap, and so the RSS,
// run far ahead of the live set between collections; optimising for size keeps the process near
// its live set (measured by `npm run bench -- sync`: peak RSS ~500 MB → ~200 MB). Imported first by
// main.ts so the flag is set before the service allocates.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--optimize-for-size');
