// Records by name that throw a typed error, naming what they hold, when a
// name they do not hold is read. Private to src/collection.

/**
 * Names read from any object by code that only probes for them: promise
 * resolution (`await x`), `JSON.stringify`, inspectors and test matchers.
 * Reading them gives `undefined` instead of an error.
 */
const PROBES = new Set([
  "then",
  "toJSON",
  "inspect",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
  "@@__IMMUTABLE_ITERABLE__@@",
  "@@__IMMUTABLE_RECORD__@@",
]);

/**
 * `target` behind a Proxy whose reads of a string key that is neither an
 * own property nor inherited (`toString`, …) nor a {@link PROBES} name
 * throw `missing(name, names)`. Everything else — `in`, `Object.keys`,
 * `Object.hasOwn`, spreading, `for…in`, assignment, `delete`, symbol keys —
 * behaves as on `target`.
 */
export function strictRecord<T>(
  target: Record<string, T>,
  missing: (name: string, names: string[]) => Error,
): Record<string, T> {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === "symbol" || key in t || PROBES.has(key)) {
        return Reflect.get(t, key, receiver);
      }
      throw missing(key, Object.keys(t));
    },
  });
}
