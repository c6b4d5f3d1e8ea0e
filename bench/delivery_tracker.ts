// Who received what, with no I/O: every delivery is checked against what its sender sent, so that
// a lost, duplicated or reordered message is counted, never guessed; and for the closed loop,
// which messages every receiver has, so that a sender knows when it may send more.
import { Histogram } from "./histogram.ts";
import {
  readDigits,
  SENDER_AT,
  SENDER_DIGITS,
  SEQ_AT,
  SEQ_DIGITS,
  TIME_AT,
  TIME_DIGITS,
} from "./payload.ts";

export interface TrackerOptions {
  members: number;
  messagesPerMember: number;
  /** Whether a sender receives its own messages: Redis delivers to every subscriber, Parley not. */
  echoes: boolean;
  /** Messages of one sender that may be incomplete at once (closed loop); 0 to not track. */
  window: number;
}

export class DeliveryTracker {
  readonly members: number;
  readonly messagesPerMember: number;
  readonly echoes: boolean;
  /** Receivers of each message. */
  readonly fanout: number;
  readonly latency = new Histogram();
  /** Every delivery of a benchmark message, duplicates included. */
  deliveries = 0;
  /** Deliveries of a (sender, sequence) that the receiver already had. */
  duplicated = 0;
  /** Deliveries that came after a later message of the same sender. */
  outOfOrder = 0;
  /** Texts no member sent: a bad stamp, a sequence past the end, one's own message in Parley. */
  unexpected = 0;
  /** Deliveries of messages the receiver did not have yet. */
  unique = 0;
  /** Messages of each sender that every receiver has, counting from the first without a gap. */
  readonly completed: Int32Array;
  /** The clock's reading at the last delivery of a message the receiver did not have yet. */
  lastDeliveryUs = 0;
  /** Called when `completed[sender]` grows. */
  onComplete: (sender: number) => void = () => {};
  /** Called once every receiver has every message. */
  onDone: () => void = () => {};

  // Per (receiver, sender): the sequence number expected next, and, only after a gap, the
  // sequence numbers skipped over that may still come.
  #next: Int32Array;
  #gaps = new Map<number, Set<number>>();
  #window: number;
  #receivedBy: Uint32Array; // per (sender, seq % window): receivers that have that message

  constructor(options: TrackerOptions) {
    this.members = options.members;
    this.messagesPerMember = options.messagesPerMember;
    this.echoes = options.echoes;
    this.fanout = options.echoes ? options.members : options.members - 1;
    this.#window = options.window;
    this.#next = new Int32Array(options.members * options.members);
    this.#receivedBy = new Uint32Array(options.members * options.window);
    this.completed = new Int32Array(options.members);
  }

  /** Deliveries expected in all. */
  get expected(): number {
    return this.members * this.messagesPerMember * this.fanout;
  }

  get done(): boolean {
    return this.unique >= this.expected;
  }

  /** `receiver` got the text at `bytes[at]` when the clock read `nowUs`. */
  deliver(receiver: number, bytes: Uint8Array, at: number, nowUs: number): void {
    const sender = readDigits(bytes, at + SENDER_AT, SENDER_DIGITS);
    const seq = readDigits(bytes, at + SEQ_AT, SEQ_DIGITS);
    const sentUs = readDigits(bytes, at + TIME_AT, TIME_DIGITS);
    if (
      sender < 0 || sender >= this.members || seq < 0 || seq >= this.messagesPerMember ||
      sentUs < 0 || (sender === receiver && !this.echoes)
    ) {
      this.unexpected++;
      return;
    }
    this.deliveries++;
    const pair = receiver * this.members + sender;
    const next = this.#next[pair];
    if (seq === next) {
      this.#next[pair] = next + 1;
    } else if (seq > next) {
      // Skipped ahead: what lies between is lost unless it comes later (out of order).
      let gaps = this.#gaps.get(pair);
      if (!gaps) this.#gaps.set(pair, gaps = new Set());
      for (let missing = next; missing < seq; missing++) gaps.add(missing);
      this.#next[pair] = seq + 1;
    } else if (this.#gaps.get(pair)?.delete(seq)) {
      this.outOfOrder++;
    } else {
      this.duplicated++;
      return;
    }
    this.unique++;
    this.lastDeliveryUs = nowUs;
    this.latency.record(nowUs - sentUs);
    if (this.#window > 0) this.#count(sender, seq);
    if (this.unique === this.expected) this.onDone();
  }

  #count(sender: number, seq: number): void {
    const base = sender * this.#window;
    if (++this.#receivedBy[base + seq % this.#window] < this.fanout) return;
    let completed = this.completed[sender];
    if (seq !== completed) return; // complete, but an earlier one is not yet
    // A sender has at most `window` messages past `completed`, so slots are never shared.
    while (
      completed < this.messagesPerMember &&
      this.#receivedBy[base + completed % this.#window] >= this.fanout
    ) {
      this.#receivedBy[base + completed % this.#window] = 0;
      completed++;
    }
    this.completed[sender] = completed;
    this.onComplete(sender);
  }

  /**
   * For a closed loop that stalled: of the messages sent (`sent[sender]` each) and not yet at
   * every receiver, how many reached no receiver and how many some, and where the first of them
   * lies. Tells a message held before the fan-out (the server never delivered it to anyone) from
   * one that reached only some members (a member's own path).
   */
  missing(sent: Int32Array): string {
    if (this.#window === 0) return "";
    let none = 0, some = 0, senders = 0;
    let first = "";
    for (let sender = 0; sender < this.members; sender++) {
      const from = this.completed[sender];
      if (sent[sender] > from) senders++;
      for (let seq = from; seq < sent[sender]; seq++) {
        const got = this.#receivedBy[sender * this.#window + seq % this.#window];
        if (got === 0) none++;
        else some++;
        if (first === "") first = `member ${sender} seq ${seq} at ${got} of ${this.fanout}`;
      }
    }
    if (none + some === 0) return "";
    // Which receivers lack them (skipped, or not yet come): a few is a connection held up.
    let behind = 0, worst = -1, worstLacks = 0;
    for (let receiver = 0; receiver < this.members; receiver++) {
      let lacks = 0;
      for (let sender = 0; sender < this.members; sender++) {
        if (sender === receiver && !this.echoes) continue;
        const pair = receiver * this.members + sender;
        lacks += sent[sender] - this.#next[pair] + (this.#gaps.get(pair)?.size ?? 0);
      }
      if (lacks > 0) behind++;
      if (lacks > worstLacks) [worst, worstLacks] = [receiver, lacks];
    }
    return `${none} messages at no receiver, ${some} at some, from ${senders} senders ` +
      `(the first: ${first}); ${behind} receivers lack some, member ${worst} ${worstLacks}`;
  }

  /** Deliveries that never came: the gaps left, and every message after a receiver's last. */
  lost(): number {
    let lost = 0;
    for (const gaps of this.#gaps.values()) lost += gaps.size;
    for (let receiver = 0; receiver < this.members; receiver++) {
      for (let sender = 0; sender < this.members; sender++) {
        if (sender === receiver && !this.echoes) continue;
        lost += this.messagesPerMember - this.#next[receiver * this.members + sender];
      }
    }
    return lost;
  }
}
