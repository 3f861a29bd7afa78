/**
 * The run's wall clock under a minutes budget: the schedule's position follows it (epochs × elapsed /
 * budget) and training stops when it is spent. Without a budget it only says that time is never up.
 */
export class RunClock {
  private started = performance.now();
  /** Seconds, or undefined without a budget. */
  readonly budget?: number;

  constructor(minutes: number | undefined, private readonly epochs: number) {
    this.budget = minutes !== undefined ? minutes * 60 : undefined;
  }

  get limited(): boolean {
    return this.budget !== undefined;
  }

  /** Starts the clock at the first epoch (compiling the train step and opening data do not count). */
  start(): void {
    this.started = performance.now();
  }

  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  timeUp(): boolean {
    return this.budget !== undefined && this.elapsed() >= this.budget;
  }

  /** The schedule position (in epochs) the clock gives, for Trainer's schedulePosition; undefined without a budget. */
  schedulePosition(): (() => number) | undefined {
    const budget = this.budget;
    return budget !== undefined ? () => this.epochs * Math.min(1, this.elapsed() / budget) : undefined;
  }
}
