// What the client's hello says, first and after each reconnect: its nick and room, where it left
// off, that it wants its own messages echoed, and the nicks the user ignores, so that the server
// hides them from the history replayed on joining as well as from what follows. No I/O.
import { type ClientMessage, ignoreField } from "../protocol.ts";

/** Where the user ignores nicks from: the ignore file (client.ts), or a test's list. */
export interface IgnoreStore {
  /** The nicks ignored, as last saved. */
  nicks(): string[];
  /** Keeps `nicks`, the server's answer to /ignore or /unignore; returns a problem, or null. */
  save(nicks: string[]): string | null;
}

/** A catch-up point: the last id seen in the room, in the server's epoch. */
export interface Since {
  since: number;
  epoch: string | undefined;
}

/**
 * The hello for `nick` in `room` (the server's default if undefined), ignoring `ignored` (what is
 * not a nick is left out, as is any past the server's limit), catching up from `since` if given.
 */
export function helloMessage(
  nick: string,
  room: string | undefined,
  ignored: readonly string[],
  since?: Since,
): ClientMessage {
  return {
    type: "hello",
    nick,
    ...(room === undefined ? {} : { room }),
    ...(since === undefined ? {} : since.epoch === undefined ? { since: since.since } : since),
    echo: true,
    ...ignoreField(ignored),
  };
}
