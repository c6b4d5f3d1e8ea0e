// Catching up after a reconnect: once the server welcomes the client back into the room it talks
// in, each of its other rooms is joined again from the last message shown there, and history is
// asked for until every room has caught up. What to show is rooms.ts's; this file only says what
// to send, and when. No I/O: the client hands in its way to send, to ping and to show.
import { type ChatMessage, type ClientMessage, nameKey, type ServerMessage } from "../protocol.ts";
import type { ClientRooms } from "./rooms.ts";
import { helloMessage } from "./hello.ts";

/** The client's hands, for a catch-up. */
export interface CatchUpLink {
  send(message: ClientMessage): void;
  /** Sends a ping; `then` runs on its pong, which comes after the answers to all sent before. */
  ping(then: () => void): void;
  show(message: ChatMessage): void;
  /** Shows a line of the client's own. */
  notify(text: string): void;
}

/**
 * After a reconnect: hello again as `nick` in the room the user talks in, asking what it missed
 * there, ignoring `ignored` (`extra` is what else the hello says: a password); the other rooms
 * follow the welcome.
 */
export function rejoin(
  rooms: ClientRooms,
  nick: string,
  ignored: readonly string[],
  extra: { password?: string },
  link: CatchUpLink,
): void {
  const room = rooms.current;
  rooms.beginCatchUp(room);
  const { epoch } = rooms, since = rooms.lastId(room);
  link.send({ ...helloMessage(nick, room, ignored, { since, epoch }), ...extra });
  link.ping(() => caughtUp(rooms, [room], link));
}

/** The server's `welcome` after `rejoin`: the user is back, and the other rooms are joined again. */
export function welcomedBack(
  rooms: ClientRooms,
  welcome: Extract<ServerMessage, { type: "welcome" }>,
  quietJoins: Set<string>,
  link: CatchUpLink,
): void {
  rooms.enter(welcome.room, welcome.members);
  link.notify("* reconnected");
  // The server answered our `since` from the old epoch with all it has.
  const restarted = rooms.newEpoch(welcome.epoch);
  if (restarted) link.notify("* the server restarted; showing what was said since");
  rejoinOthers(rooms, welcome.room, quietJoins, link);
}

/**
 * After the welcome back into `room`: the other rooms of `rooms`, each joined again with the last
 * id shown, their `joined` answers expected quietly (their keys added to `quietJoins`).
 */
export function rejoinOthers(
  rooms: ClientRooms,
  room: string,
  quietJoins: Set<string>,
  link: CatchUpLink,
): void {
  const others = rooms.names.filter((name) => nameKey(name) !== nameKey(room));
  for (const other of others) {
    rooms.beginCatchUp(other);
    quietJoins.add(nameKey(other));
    link.send({ type: "join", room: other, since: rooms.lastId(other) });
  }
  // One ping for many rooms keeps a rejoin within the server's flood burst.
  if (others.length > 0) link.ping(() => caughtUp(rooms, others, link));
}

/**
 * The history asked for in `names` has arrived (the server answers a ping only after what was
 * asked before it): what is new is shown, and what a room still misses is asked for again.
 */
export function caughtUp(rooms: ClientRooms, names: string[], link: CatchUpLink): void {
  const { more, show } = rooms.caughtUpAll(names);
  for (const { room, after } of more) link.send({ type: "history", room, after });
  for (const message of show) link.show(message);
  if (more.length > 0) link.ping(() => caughtUp(rooms, more.map(({ room }) => room), link));
}
