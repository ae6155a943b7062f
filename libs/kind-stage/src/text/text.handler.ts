import type { KindHandler } from '../kind-handler';

/** Text streams: the item's vector is all there is; nothing is derived. */
export class TextHandler implements KindHandler {
  readonly kind = 'text';
  readonly derives = false;

  afterChange(): Promise<void> {
    return Promise.resolve();
  }
}
