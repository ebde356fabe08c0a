/**
 * libstdc++'s `std::sort` (introsort: median-of-three quicksort to runs of
 * 16, heapsort past 2·log2(n) levels, then insertion sort), step for step.
 * It is not stable: which of several equal keys ends up last depends on
 * the algorithm, and BCC picks a user symbol among aliases at one address
 * (`getpid`, `__getpid`) as the last in its `std::sort`ed table. Sorting
 * the same sequence the same way gives bpftrace's choice.
 *
 * @module
 */

const THRESHOLD = 16;

/** Sorts `a` in place by `key`, exactly as `std::sort(a.begin(), a.end(), key(x) < key(y))`. */
export function stdSort<T>(a: T[], key: (x: T) => number): void {
  const n = a.length;
  if (n < 2) return;
  const less = (i: number, j: number) => key(a[i]) < key(a[j]);
  const swap = (i: number, j: number) => {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  };
  const introsortLoop = (first: number, last: number, depth: number): void => {
    while (last - first > THRESHOLD) {
      if (depth === 0) {
        heapSort(a, first, last, key);
        return;
      }
      depth--;
      // __unguarded_partition_pivot: the median of (first+1, mid, last-1) moved to first.
      const mid = first + Math.floor((last - first) / 2);
      const [x, y, z] = [first + 1, mid, last - 1];
      if (less(x, y)) {
        if (less(y, z)) swap(first, y);
        else if (less(x, z)) swap(first, z);
        else swap(first, x);
      } else if (less(x, z)) swap(first, x);
      else if (less(y, z)) swap(first, z);
      else swap(first, y);
      let lo = first + 1;
      let hi = last;
      for (;;) {
        while (less(lo, first)) lo++;
        hi--;
        while (less(first, hi)) hi--;
        if (!(lo < hi)) break;
        swap(lo, hi);
        lo++;
      }
      introsortLoop(lo, last, depth);
      last = lo;
    }
  };
  introsortLoop(0, n, 2 * Math.floor(Math.log2(n)));
  // __final_insertion_sort: guarded over the first 16, unguarded after.
  const insert = (i: number, guarded: boolean) => {
    const v = a[i];
    const kv = key(v);
    if (guarded && kv < key(a[0])) {
      for (let j = i; j > 0; j--) a[j] = a[j - 1];
      a[0] = v;
      return;
    }
    let j = i;
    while (kv < key(a[j - 1])) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  };
  const head = Math.min(n, THRESHOLD);
  for (let i = 1; i < head; i++) insert(i, true);
  for (let i = head; i < n; i++) insert(i, false);
}

/** std::__partial_sort(first, last, last): make_heap then sort_heap. */
function heapSort<T>(a: T[], first: number, last: number, key: (x: T) => number): void {
  const len = last - first;
  const adjust = (hole: number, n: number, value: T) => {
    const top = hole;
    let child = hole;
    while (child < Math.floor((n - 1) / 2)) {
      child = 2 * (child + 1);
      if (key(a[first + child]) < key(a[first + child - 1])) child--;
      a[first + hole] = a[first + child];
      hole = child;
    }
    if ((n & 1) === 0 && child === Math.floor((n - 2) / 2)) {
      child = 2 * (child + 1);
      a[first + hole] = a[first + child - 1];
      hole = child - 1;
    }
    // __push_heap
    let parent = Math.floor((hole - 1) / 2);
    while (hole > top && key(a[first + parent]) < key(value)) {
      a[first + hole] = a[first + parent];
      hole = parent;
      parent = Math.floor((hole - 1) / 2);
    }
    a[first + hole] = value;
  };
  if (len >= 2) {
    for (let parent = Math.floor((len - 2) / 2); parent >= 0; parent--) {
      adjust(parent, len, a[first + parent]);
    }
  }
  for (let end = len; end > 1;) {
    end--;
    const value = a[first + end];
    a[first + end] = a[first];
    adjust(0, end, value);
  }
}
