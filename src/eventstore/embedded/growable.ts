/** A growable array of non-negative integers (file offsets, positions) without boxing. */
export class IntList {
  private values: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.values = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  at(index: number): number {
    return this.values[index]!;
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }
}
