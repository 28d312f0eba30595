// type-graphql 2 calls `Reflect.getMetadata` for every decorator, even when an explicit type
// function is given. tsx/esbuild emit no design-type metadata, so the answer is always "none":
// a lookup that returns undefined is all it needs (no reflect-metadata polyfill). Every module
// with type-graphql decorators imports this file first.
const reflect = Reflect as typeof Reflect & { getMetadata?: (...args: unknown[]) => unknown };
reflect.getMetadata ??= () => undefined;

export {};
