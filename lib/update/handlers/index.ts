import type { PayloadHandler } from '../payload.js';
import type { PartKind, PlanPart } from '../plan.js';
import { appsHandler } from './apps.js';
import { rootfsHandler } from './rootfs.js';

const handlers: { readonly [K in PartKind]: PayloadHandler<Extract<PlanPart, { kind: K }>> } = {
  rootfs: rootfsHandler,
  apps: appsHandler,
};

/** Every payload handler, in plan order. */
export const payloadHandlers: readonly PayloadHandler[] = Object.values(handlers) as PayloadHandler[];

/** The handler of each kind of plan part. */
export function handlerFor<P extends PlanPart>(part: P): PayloadHandler<P> {
  return handlers[part.kind] as unknown as PayloadHandler<P>;
}

export { appsHandler, rootfsHandler };
