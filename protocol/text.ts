// Server messages as people read them: one line of text each, as the terminal client and
// line-mode members show them. No I/O.

import { type ChatMessage, DEFAULT_ROOM, nameKey, type ServerMessage } from "../protocol.ts";

/** `ts` as the local time of day, `HH:MM`: when a message from history was said. */
export function clock(ts: number): string {
  const time = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

// The default room goes unnamed in text, however the member who opened it spelt it.
function isDefaultRoom(room: string): boolean {
  return nameKey(room) === DEFAULT_ROOM;
}

function describeChat(message: ChatMessage): string {
  const said = message.to !== undefined
    ? (message.action ? `*${message.from}* * ${message.text}` : `*${message.from}* ${message.text}`)
    : message.action
    ? `* ${message.from} ${message.text}`
    : `<${message.from}> ${message.text}`;
  // Rooms other than the default are named, so that a member of several can tell them apart.
  const where = message.room !== undefined && !isDefaultRoom(message.room)
    ? `[${message.room}] `
    : "";
  const when = message.history ? `[${clock(message.ts)}] ` : "";
  return `${when}${where}${said}`;
}

// Nicks as a list, saying how many more there are when a large room named only some of `count`.
function listed(nicks: string[], count = nicks.length): string {
  const more = count - nicks.length;
  return more > 0 ? `${nicks.join(", ")} and ${more} more` : nicks.join(", ");
}

/**
 * How a server message reads as one line of text, as the client and line-mode members show it;
 * null for messages that people need not see.
 */
export function describe(message: ServerMessage): string | null {
  const where = "room" in message && message.room !== undefined && !isDefaultRoom(message.room)
    ? ` ${message.room}`
    : "";
  switch (message.type) {
    case "msg":
      return describeChat(message);
    case "join":
      return `* ${message.nick} joined${where}`;
    case "leave":
      return `* ${message.nick} left${where}`;
    case "nick":
      return `* ${message.from} is now known as ${message.nick}`;
    case "who":
      return `* in ${message.room}: ${listed(message.members, message.count)}`;
    case "rooms":
      return `* rooms: ${
        message.rooms.map((room) => `${room.name} (${room.members})`).join(", ") || "none"
      }`;
    case "notice":
      return `* ${message.text}`;
    case "welcome": {
      const others = message.members.filter((nick) => nick !== message.nick);
      const othersInAll = message.count === undefined ? others.length : message.count - 1;
      const company = othersInAll === 0
        ? "nobody else is here yet"
        : `here: ${listed(others, othersInAll)}`;
      return `* you are ${message.nick} in ${message.room}; ${company}`;
    }
    case "joined":
      return `* you joined ${message.room}; here: ${listed(message.members, message.count)}`;
    case "error":
      return `* ${message.message}`;
    case "history_end":
    case "ping":
    case "pong":
      return null;
  }
}
