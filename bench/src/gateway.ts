/** `npm run bench -- gateway` — placeholder until its issue lands. */
export async function run(): Promise<void> {
  throw new Error('benchmark "gateway" is not implemented yet');
}
