/** Prints the benchmark's result as the last stdout line, in the format every bench uses. */
export function report(bench: string, metrics: Record<string, number>, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ bench, metrics, ...extra })}\n`);
}
