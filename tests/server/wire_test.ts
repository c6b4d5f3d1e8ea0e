import { test } from "node:test";
import assert from "node:assert/strict";
import { createWire, detached, type Input } from "../../server/wire.ts";
import { parseClientMessage, ProtocolError } from "../../protocol.ts";
import { concatBytes } from "../../protocol/native.ts";
import { rawFrame } from "../_frames.ts";

// What the general way makes of a payload: JSON.parse, then the message checks.
function generally(payload: string): unknown {
  try {
    return parseClientMessage(JSON.parse(payload));
  } catch (error) {
    return error instanceof ProtocolError ? error.code : "invalid_json";
  }
}

const utf8 = new TextEncoder();
let quick = 0; // inputs read the quick way, which carry their text's bytes

// What the server acts on. One read the quick way carries its text's bytes, which must be the
// text's UTF-8, and is otherwise what the general way gives.
function asSeen(input: Input | ProtocolError): unknown {
  if (input instanceof ProtocolError) return input.code;
  if (!("textUtf8" in input)) return input;
  quick++;
  assert.deepEqual([...input.textUtf8], [...utf8.encode(input.text)], input.text);
  return detached(input);
}

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
  quick = 0;
  for (const payload of payloads) {
    const wire = createWire("native", { maxFrameBytes: 65536, maxLineBytes: 4096 });
    assert.deepEqual(
      wire.decoder.push(rawFrame(payload)).map(asSeen),
      [generally(payload)],
      payload,
    );
  }
  assert.equal(quick, 5, "the first five are plain");
});

test("Native input: plain chat split at every byte reads the same", () => {
  const payloads = ['{"type":"msg","text":"one"}', '{"type":"msg","text":"two é","room":"den"}'];
  const bytes = concatBytes(payloads.map((payload) => rawFrame(payload)));
  for (let split = 0; split <= bytes.length; split++) {
    const wire = createWire("native", { maxFrameBytes: 65536, maxLineBytes: 4096 });
    quick = 0;
    const inputs = [
      ...wire.decoder.push(bytes.slice(0, split)),
      ...wire.decoder.push(bytes.slice(split)),
    ];
    assert.deepEqual(inputs.map(asSeen), payloads.map(generally), `split at ${split}`);
    assert.equal(quick, 2, `split at ${split}`);
  }
});
