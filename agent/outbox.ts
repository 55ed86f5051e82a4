/**
 * A push-driven async iterable: the request side of one bidi stream. The
 * stream client pushes requests as batches fill; Connect pulls them as the
 * HTTP/2 stream accepts them. `close()` ends the iteration (half-closes the
 * stream) once queued items have been taken. Iterating uses an async
 * generator, which gives Connect the `throw`/`return` it calls on abort.
 */
export class Outbox<T> implements AsyncIterable<T> {
  /** @param onTake called with each item as the consumer takes it. */
  constructor(private readonly onTake?: (item: T) => void) {}

  private items: T[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private closed = false;

  /** Queues an item; ignored after `close()`. */
  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.signal();
  }

  /** Ends the iteration after the queued items. */
  close(): void {
    this.closed = true;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head] as T;
        this.head++;
        if (this.head === this.items.length) {
          this.items = [];
          this.head = 0;
        }
        this.onTake?.(item);
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
