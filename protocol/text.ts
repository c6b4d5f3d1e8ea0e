// Server messages as people read them: one line of text each, as the terminal client and
// line-mode members show them. No I/O.

import {
  type ChatMessage,
  DEFAULT_ROOM,
  nameKey,
  type ServerMessage,
  type Whois,
} from "../protocol.ts";

/**
 * When a message was said, `ts`, as read at `now`, both in ms since the Unix epoch: the local time
 * of day, `HH:MM`, on the local day of `now`; else the local date too, `YYYY-MM-DD HH:MM`, since a
 * time alone would read as today's. "Local" is this process's time zone, days are calendar days
 * there (so 23:59 and 00:01 are a day apart, and a day of a clock change is still one day).
 */
export function clock(ts: number, now: number): string {
  const time = new Date(ts);
  const today = new Date(now);
  const pad = (n: number) => String(n).padStart(2, "0");
  const hhmm = `${pad(time.getHours())}:${pad(time.getMinutes())}`;
  const sameDay = time.getFullYear() === today.getFullYear() &&
    time.getMonth() === today.getMonth() && time.getDate() === today.getDate();
  if (sameDay) return hhmm;
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} ${hhmm}`;
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
  const when = message.history ? `[${clock(message.ts, Date.now())}] ` : "";
  return `${when}${where}${said}`;
}

// Bidirectional overrides, embeddings and isolates reorder what follows them on a terminal, and
// line and paragraph separators break the line there: a member could make its words read as
// someone else's. Text for terminals goes without the former, with a space for each of the latter.
const REORDERING = /[\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
const REORDERINGS = /[\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** `text` as line and legacy members get it: see REORDERING. */
export function terminalText(text: string): string {
  // Testing first spares the common text a copy.
  if (!REORDERING.test(text)) return text;
  return text.replace(REORDERINGS, (char) => char === "\u2028" || char === "\u2029" ? " " : "");
}

// Nicks as a list, `me` among them marked, and those `away`, saying how many more there are when
// a large room named only some of `count`.
function listed(nicks: string[], count = nicks.length, me?: string, away: string[] = []): string {
  const more = count - nicks.length;
  const marked = (nick: string) =>
    nick === me ? `${nick} (you)` : away.includes(nick) ? `${nick} (away)` : nick;
  const names = nicks.map(marked).join(", ");
  return more > 0 ? `${names} and ${more} more` : names;
}

// Who is in a room the member has just entered: everyone, the member too, marked; or nobody else.
function company(members: string[], count = members.length, me?: string): string {
  const alone = count === 1 && (me === undefined || members[0] === me);
  return alone ? "nobody else is here yet" : `here: ${listed(members, count, me)}`;
}

/**
 * How a server message reads as one line of text, as the client and line-mode members show it;
 * null for messages that people need not see. Whatever does not come from a member (joins,
 * errors, answers, notices) begins with `noticeMark`: line mode's `*** ` can never begin a chat
 * line (`<alice> hi`, `*alice* psst`) or an action (`* alice waves`), since a nick cannot be empty
 * or hold a `*`. Lists of members name everyone, `me` (the member the line is for) marked `(you)`.
 */
export function describe(message: ServerMessage, noticeMark = "* ", me?: string): string | null {
  const where = "room" in message && message.room !== undefined && !isDefaultRoom(message.room)
    ? ` ${message.room}`
    : "";
  switch (message.type) {
    case "msg":
      return describeChat(message);
    case "join":
      return `${noticeMark}${message.nick} joined${where}`;
    case "leave":
      return `${noticeMark}${message.nick} left${where}`;
    case "nick":
      return `${noticeMark}${message.from} is now known as ${message.nick}`;
    case "who":
      return `${noticeMark}in ${message.room}: ${
        listed(message.members, message.count, me, message.away)
      }`;
    case "rooms":
      return `${noticeMark}rooms: ${
        message.rooms.map((room) => `${room.name} (${room.members})`).join(", ") || "none"
      }`;
    case "notice":
      return `${noticeMark}${message.text}`;
    case "whois":
      return `${noticeMark}${whoisText(message, Date.now())}`;
    case "away":
      return `${noticeMark}${message.nick} is away: ${message.text}`;
    case "ignoring":
      return `${noticeMark}ignoring: ${message.nicks.join(", ") || "nobody"}`;
    case "welcome": {
      const here = company(message.members, message.count, message.nick);
      return `${noticeMark}you are ${message.nick} in ${message.room}; ${here}`;
    }
    case "joined":
      return `${noticeMark}you joined ${message.room}; ${
        company(message.members, message.count, me)
      }`;
    case "error":
      return `${noticeMark}${message.message}`;
    case "history_gap": {
      const { missed } = message;
      const messages = missed === 1 ? "message" : "messages";
      const are = missed === 1 ? "is" : "are";
      const inRoom = where === "" ? "" : ` in${where}`;
      return `${noticeMark}${missed} earlier ${messages}${inRoom} ${are} no longer available`;
    }
    case "history_end":
    case "ping":
    case "pong":
      return null;
  }
}

/** How long `seconds` is, roughly, as people say it: "42 s", "5 min", "3 h 20 min", "2 d 4 h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return h % 24 ? `${Math.floor(h / 24)} d ${h % 24} h` : `${Math.floor(h / 24)} d`;
}

/**
 * A /whois answer as one line, read at `now`: "bob (identified as bob), in lobby, den; here since
 * 09:31, idle 42 s; over tls, line mode; away: lunch".
 */
export function whoisText(whois: Whois, now: number): string {
  const who = whois.account === undefined
    ? `${whois.nick} (not identified)`
    : `${whois.nick} (identified as ${whois.account})`;
  const rooms = whois.rooms.length > 0 ? `in ${whois.rooms.join(", ")}` : "in no room";
  const when = `here since ${clock(whois.since, now)}, idle ${duration(whois.idle)}`;
  const how = `over ${whois.transport}, ${whois.mode} mode`;
  const away = whois.away === undefined ? "" : `; away: ${whois.away}`;
  return `${who}, ${rooms}; ${when}; ${how}${away}`;
}
