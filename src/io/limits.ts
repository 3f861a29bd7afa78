/**
 * What reading a checkpoint may allocate. Every allocation a reader makes from what a file declares
 * (an inflated zip entry, a copied or gathered storage span, a widened tensor) is charged to a
 * ReadBudget before it is made, so a hostile file is refused before it takes the memory.
 */
import { numel } from '../tensor.js';

/**
 * The budget of a checkpoint read with no model to check it against (and the largest checkpoint file
 * read): 2 GiB, some 400 times the largest zoo network in float32 (MobileNetV3-Large, 5.5M parameters).
 */
export const MAX_CHECKPOINT_BYTES = 2 * 1024 ** 3;

/**
 * Bytes reading one element may take at most: its storage element inflated (8 for the widest types) and
 * gathered into a contiguous copy (8 again); a half type's widened float32 stays under that (2 + 2 + 4).
 */
const BYTES_PER_EXPECTED_ELEMENT = 16;
/** Room for the pickle itself and what rounds up (small tensors, an empty model). */
const BUDGET_SLACK = 64 * 1024 * 1024;

export class ReadBudget {
  private left: number;

  constructor(
    readonly limit: number,
    /** What the limit is (for messages): 'the model's own size', 'the global limit'. */
    readonly basis: string,
  ) {
    this.left = limit;
  }

  /** Charges `bytes` that `what` is about to allocate; throws first when they exceed what is left. */
  take(bytes: number, what: string): void {
    if (bytes > this.left) {
      throw new Error(`${what} needs ${bytes} bytes, more than the ${this.left} left of the ${this.limit}-byte budget (${this.basis}); refusing`);
    }
    this.left -= bytes;
  }

  /** A budget with no model to check against. */
  static global(): ReadBudget {
    return new ReadBudget(MAX_CHECKPOINT_BYTES, 'the limit for a checkpoint read without a model');
  }

  /** The budget of loading tensors of these shapes: what reading them can legitimately take. */
  static forShapes(shapes: Iterable<{ readonly shape: readonly number[] }>): ReadBudget {
    let elements = 0;
    for (const t of shapes) elements += numel(t.shape);
    return new ReadBudget(elements * BYTES_PER_EXPECTED_ELEMENT + BUDGET_SLACK, `${BYTES_PER_EXPECTED_ELEMENT} bytes per element of the model's ${elements}`);
  }
}
