/** `npm run bench -- sync` — placeholder until its issue lands. */
export async function run(): Promise<void> {
  throw new Error('benchmark "sync" is not implemented yet');
}
