/** A fixed-range histogram of tensor values, for percentile calibration ranges. */

export class Histogram {
  readonly counts: Float64Array;
  private total = 0;

  constructor(readonly min: number, readonly max: number, bins = 2048) {
    this.counts = new Float64Array(bins);
  }

  private get width(): number {
    return (this.max - this.min) / this.counts.length;
  }

  add(values: Float32Array): void {
    const bins = this.counts.length;
    const k = this.max > this.min ? bins / (this.max - this.min) : 0;
    for (let i = 0; i < values.length; i++) {
      const b = Math.floor((values[i]! - this.min) * k);
      this.counts[b < 0 ? 0 : b >= bins ? bins - 1 : b]! += 1;
    }
    this.total += values.length;
  }

  /**
   * The range that keeps `percentile`% of the values, cutting half the rest from each tail: from the
   * lower edge of the bin where the low tail ends to the upper edge of the bin where the high tail
   * begins. It always lies inside [min, max].
   */
  percentileRange(percentile: number): { min: number; max: number } {
    const tail = (this.total * (100 - percentile)) / 200;
    let lo = 0;
    for (let seen = this.counts[0]!; seen <= tail && lo < this.counts.length - 1; seen += this.counts[++lo]!);
    let hi = this.counts.length - 1;
    for (let seen = this.counts[hi]!; seen <= tail && hi > lo; seen += this.counts[--hi]!);
    return { min: this.min + lo * this.width, max: Math.min(this.max, this.min + (hi + 1) * this.width) };
  }
}
