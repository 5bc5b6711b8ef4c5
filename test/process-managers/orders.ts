import * as io from 'io-ts';
import { defineEvent, jsonCodec, type EventOf } from '../../src/events/domain-event.js';
import type { ProcessManager } from '../../src/process-managers/process-manager.js';
import { commandReaction } from '../../src/process-managers/process-manager.js';
import { counterDecider } from '../support/counter.js';

/** A small world for process-manager tests: orders get charged, shipped and counted. */
export const OrderPlaced = defineEvent('OrderPlaced', jsonCodec(io.type({ order_id: io.string, amount: io.number })));
export const PaymentTaken = defineEvent(
  'PaymentTaken',
  jsonCodec(io.type({ order_id: io.string, amount: io.number, receipt: io.string })),
);
export const ShipmentRequested = defineEvent('ShipmentRequested', jsonCodec(io.type({ order_id: io.string })));
export const orderEventDefinitions = [OrderPlaced, PaymentTaken, ShipmentRequested];

export type OrderEvent = EventOf<typeof OrderPlaced> | EventOf<typeof PaymentTaken> | EventOf<typeof ShipmentRequested>;
export type ChargeEffect = { readonly kind: 'charge'; readonly orderId: string; readonly amount: number };

/** On OrderPlaced: charge the card (effect), request shipment (append) and count the order (command). */
export const ordersProcessManager: ProcessManager<ChargeEffect> = {
  name: 'orders',
  react: (stored) => {
    const event = stored.event as OrderEvent;
    if (event.type !== 'OrderPlaced') return [];
    const { order_id: orderId, amount } = event.data;
    return [
      {
        type: 'effect',
        key: `${stored.id}:charge`,
        stream: `payment-${orderId}`,
        effect: { kind: 'charge', orderId, amount },
      },
      {
        type: 'append',
        key: `${stored.id}:ship`,
        stream: `shipment-${orderId}`,
        events: [{ type: 'ShipmentRequested', data: { order_id: orderId } }],
      },
      commandReaction(`${stored.id}:count`, 'counter-orders', counterDecider, {
        type: 'increment',
        by: 1,
        now: new Date(stored.metadata.recorded_at),
      }),
    ];
  },
};
