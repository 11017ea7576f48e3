// Types for the two dbus-next internals domuctl loads directly (see bus.ts).
declare module 'dbus-next/lib/connection.js' {
  import type { EventEmitter } from 'node:events';
  export interface WireMessage {
    type: number;
    serial: number | null;
    replySerial?: number;
    flags: number;
    path?: string;
    interface?: string;
    member?: string;
    errorName?: string;
    sender?: string;
    signature?: string;
    body: unknown[];
  }
  export interface Connection extends EventEmitter {
    message(msg: WireMessage): void;
    end(): Connection;
    stream: { destroy(): void };
  }
  function createConnection(opts: { busAddress: string }): Connection;
  export default createConnection;
}
declare module 'dbus-next/lib/message-type.js' {
  export class Message {
    constructor(o: {
      type?: number;
      destination?: string;
      path: string;
      interface: string;
      member: string;
      signature?: string;
      body?: unknown[];
      flags?: number;
    });
    serial: number | null;
  }
}
declare module 'dbus-next/lib/variant.js' {
  export class Variant {
    constructor(signature: string, value: unknown);
    signature: string;
    value: unknown;
  }
}
