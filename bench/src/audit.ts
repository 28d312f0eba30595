/** `npm run bench -- audit` — placeholder until its issue lands. */
export async function run(): Promise<void> {
  throw new Error('benchmark "audit" is not implemented yet');
}
