import type { ItemFailureReason } from '@tributary/contracts';
import { UnrecoverableError } from '@tributary/queue';

/**
 * An item that can never be embedded (bad input, its collection gone): fails at once, without
 * retries (an UnrecoverableError to BullMQ), and is stored with its reason code. The message is
 * for the worker's log only.
 */
export class ItemFailure extends UnrecoverableError {
  constructor(
    readonly reason: ItemFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ItemFailure';
  }
}
