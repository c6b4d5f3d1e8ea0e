// Latencies in whole microseconds, counted in log-linear buckets (as HdrHistogram does): exact
// below 256 µs, and within 1/128 (0.8%) of the value above, in a fixed 26 KiB whatever the count,
// so that millions of deliveries cost one array increment each.

const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
const MAX_VALUE_US = 2 ** 31 - 1; // 35 minutes
const BUCKETS = (32 - SUB_BUCKET_BITS) * SUB_BUCKETS;

function bucketOf(valueUs: number): number {
  if (valueUs < 2 * SUB_BUCKETS) return valueUs;
  const shift = 31 - Math.clz32(valueUs) - SUB_BUCKET_BITS;
  return (shift << SUB_BUCKET_BITS) + (valueUs >>> shift);
}

/** The lowest value in `bucket`, and how many values it spans. */
function bucketRange(bucket: number): [low: number, width: number] {
  if (bucket < 2 * SUB_BUCKETS) return [bucket, 1];
  const shift = (bucket >> SUB_BUCKET_BITS) - 1;
  return [(bucket - (shift << SUB_BUCKET_BITS)) << shift, 1 << shift];
}

export class Histogram {
  #counts = new Float64Array(BUCKETS);
  count = 0;
  /** Exact, in µs. */
  max = 0;
  min = Infinity;
  sum = 0;

  record(valueUs: number): void {
    const value = valueUs <= 0 ? 0 : valueUs >= MAX_VALUE_US ? MAX_VALUE_US : Math.floor(valueUs);
    this.#counts[bucketOf(value)]++;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
    if (value < this.min) this.min = value;
  }

  /** The value (µs) at or below which `percent` of the recorded values lie; 0 when empty. */
  percentile(percent: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.#counts[bucket];
      if (seen >= rank) {
        const [low, width] = bucketRange(bucket);
        // The middle of the bucket, but never past what was really seen.
        return Math.min(Math.max(low + (width - 1) / 2, this.min), this.max);
      }
    }
    return this.max;
  }
}
