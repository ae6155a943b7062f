export default async function globalTeardown(): Promise<void> {
  const stops = (globalThis as { __tributaryStops?: (() => Promise<void>)[] }).__tributaryStops ?? [];
  await Promise.all(stops.map((stop) => stop()));
}
