import { test } from "node:test";
import assert from "node:assert/strict";
import { createWire } from "../wire.ts";
import { concatBytes, parseClientMessage, ProtocolError } from "../protocol.ts";
import { rawFrame } from "./_helpers.ts";

// What the general way makes of a payload: JSON.parse, then the message checks.
function generally(payload: string): unknown {
  try {
    return parseClientMessage(JSON.parse(payload));
  } catch (error) {
    return error instanceof ProtocolError ? error.code : "invalid_json";
  }
}

const asSeen = (input: unknown) => input instanceof ProtocolError ? input.code : input;

test("Native input: the quick way for plain chat gives what JSON.parse gives, for any payload", () => {
  const payloads = [
    '{"type":"msg","text":"hello"}',
    '{"type":"msg","text":"hello","room":"den"}',
    '{"type":"msg","text":""}',
    '{"type":"msg","text":"x","room":""}',
    '{"type":"msg","text":"日本 🎉 é, and <b>tags</b> & {braces}"}',
    '{"type":"msg","text":"with \\"quotes\\" and a \\\\ backslash"}',
    '{"type":"msg","text":"an escaped \\u0041 and a tab\\t"}',
    '{"type":"msg","text":"raw del \u007f and c1 \u0085"}',
    '{"type":"msg","text":"raw control \u0001"}',
    '{"type":"msg","text":"x","action":true,"room":"den"}',
    '{"type":"msg","room":"den","text":"x"}',
    '{ "type":"msg","text":"x"}',
    '{"type":"msg","text":"x","room":"den","to":"bob"}',
    '{"type":"msg","text":"x","text":"y"}',
    '{"type":"msg","text":"x","room":5}',
    '{"type":"msg","text":"x"} ',
    '{"type":"msg","text":"x"}{}',
    '{"type":"msg","text":"x}',
    '{"type":"MSG","text":"x"}',
  ];
  for (const payload of payloads) {
    const wire = createWire("native", { maxFrameBytes: 65536, maxLineBytes: 4096 });
    assert.deepEqual(
      wire.decoder.push(rawFrame(payload)).map(asSeen),
      [generally(payload)],
      payload,
    );
  }
});

test("Native input: plain chat split at every byte reads the same", () => {
  const payloads = ['{"type":"msg","text":"one"}', '{"type":"msg","text":"two é","room":"den"}'];
  const bytes = concatBytes(payloads.map((payload) => rawFrame(payload)));
  for (let split = 0; split <= bytes.length; split++) {
    const wire = createWire("native", { maxFrameBytes: 65536, maxLineBytes: 4096 });
    const inputs = [
      ...wire.decoder.push(bytes.slice(0, split)),
      ...wire.decoder.push(bytes.slice(split)),
    ];
    assert.deepEqual(inputs, payloads.map(generally), `split at ${split}`);
  }
});
