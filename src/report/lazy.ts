/**
 * Report properties made when first read. The analysis keeps compact data
 * (typed-array rows, number arrays) in the report and the objects a reader
 * wants are made after the analysis state has become garbage, so the two
 * never sit in memory together.
 */

/**
 * Define `target[key]` as built by `make()` when first read, then kept.
 * Enumerable, so JSON.stringify and deep comparisons see a plain value;
 * assigning replaces it. `settled` runs once, when the value is built or
 * replaced; `make` is dropped then (and whatever it holds with it).
 */
export function defineLazy<T extends object, K extends keyof T>(target: T, key: K, make: () => T[K], settled?: () => void): T {
  let pending: (() => T[K]) | null = make;
  let value: T[K];
  const settle = (): void => {
    pending = null;
    settled?.();
  };
  return Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      if (pending !== null) {
        value = pending();
        settle();
      }
      return value;
    },
    set: (v: T[K]) => {
      value = v;
      if (pending !== null) settle();
    },
  });
}
