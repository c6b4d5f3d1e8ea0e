// Microbenchmarks of the frame codec (protocol/native.ts), for `deno bench bench/codec_bench.ts`:
// what the server pays per frame to decode a member's input and to encode a broadcast, and, for
// scale, what the benchmark's load generator pays to find a stamp without decoding.
import type { ServerMessage } from "../protocol.ts";
import { encodeFrame, FrameDecoder } from "../protocol/native.ts";
import { locateText, MessageTemplate, parleyMessage, textTemplate } from "./payload.ts";
import { FrameScanner } from "./scanners.ts";
import { createWire } from "../server/wire.ts";
import { DeliveryTracker } from "./delivery_tracker.ts";

const FRAMES_PER_CHUNK = 100;
const LIMITS = { maxFrameBytes: 65536, maxLineBytes: 4096 };

function stamped(size: number): Uint8Array {
  return parleyMessage(1, size).stamp(0, FRAMES_PER_CHUNK, 123_456);
}

// What a member sends: {"type":"msg","text":"..."} frames, many to a read.
const input64 = stamped(64);
const input1k = stamped(1024);

// What the server relays: msg frames as encodeFrame writes them, many to a read, numbered 0 on.
function relayed(size: number): { message: ServerMessage; chunk: Uint8Array } {
  const empty = new Uint8Array(0);
  const texts = new MessageTemplate(empty, textTemplate(1, size), empty)
    .stamp(0, FRAMES_PER_CHUNK, 123_456);
  const frames = Array.from({ length: FRAMES_PER_CHUNK }, (_, i) =>
    encodeFrame({
      type: "msg",
      id: i + 1,
      from: "b000001",
      room: "bench",
      text: new TextDecoder().decode(texts.subarray(i * size, (i + 1) * size)),
      ts: 1795319154851,
    }));
  const chunk = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  frames.reduce((at, frame) => (chunk.set(frame, at), at + frame.length), 0);
  const message = JSON.parse(new TextDecoder().decode(frames[0].subarray(4))) as ServerMessage;
  return { message, chunk };
}
const out64 = relayed(64);
const out1k = relayed(1024);

for (const [name, chunk] of [["64 B", input64], ["1 KiB", input1k]] as const) {
  Deno.bench(`FrameDecoder.push: ${FRAMES_PER_CHUNK} msg frames of ${name} text in one chunk`, {
    group: `decode ${name}`,
    baseline: true,
  }, () => {
    const frames = new FrameDecoder().push(chunk);
    if (frames.length !== FRAMES_PER_CHUNK) throw new Error("lost a frame");
  });

  // Every chunk boundary falls inside a frame: the decoder's buffering path.
  const pieces = Array.from(
    { length: Math.ceil(chunk.length / 1000) },
    (_, i) => chunk.subarray(i * 1000, (i + 1) * 1000),
  );
  Deno.bench(`FrameDecoder.push: the same, in 1000-byte reads`, {
    group: `decode ${name}`,
  }, () => {
    const decoder = new FrameDecoder();
    let count = 0;
    for (const piece of pieces) count += decoder.push(piece).length;
    if (count !== FRAMES_PER_CHUNK) throw new Error("lost a frame");
  });

  // What the server does with a member's input: plain chat taken apart where it lies (wire.ts).
  Deno.bench(
    `native input (wire.ts): the same ${FRAMES_PER_CHUNK} frames, as the server reads them`,
    {
      group: `decode ${name}`,
    },
    () => {
      const inputs = createWire("native", LIMITS).decoder.push(chunk);
      if (inputs.length !== FRAMES_PER_CHUNK) throw new Error("lost a frame");
    },
  );
}

for (const [name, { message }] of [["64 B", out64], ["1 KiB", out1k]] as const) {
  Deno.bench(`encodeFrame: a relayed msg of ${name} text`, {
    group: `encode ${name}`,
    baseline: true,
  }, () => {
    encodeFrame(message);
  });
  // As the server relays a plain message: with the text's bytes as the sender sent them.
  const textUtf8 = new TextEncoder().encode((message as { text: string }).text);
  Deno.bench(`encodeFrame: the same, given the text's bytes`, { group: `encode ${name}` }, () => {
    encodeFrame(message, textUtf8);
  });
}

for (const [name, { chunk }] of [["64 B", out64], ["1 KiB", out1k]] as const) {
  let guess = 0;
  Deno.bench(`bench receiver: ${FRAMES_PER_CHUNK} relayed msgs of ${name}, stamps only`, {
    group: `receive ${name}`,
    baseline: true,
  }, () => {
    const tracker = new DeliveryTracker({
      members: 2,
      messagesPerMember: FRAMES_PER_CHUNK,
      echoes: false,
      window: 0,
    });
    new FrameScanner((bytes, start, end) => {
      const textAt = locateText(bytes, start, end, guess);
      guess = textAt - start;
      tracker.deliver(0, bytes, textAt, 0);
    }).push(chunk);
  });
  Deno.bench(`FrameDecoder.push + JSON.parse: the same, decoded in full`, {
    group: `receive ${name}`,
  }, () => {
    new FrameDecoder(1 << 20).push(chunk);
  });
}
