/** `npm run bench -- acl` — placeholder until its issue lands. */
export async function run(): Promise<void> {
  throw new Error('benchmark "acl" is not implemented yet');
}
