// The phases a chat goes through (chat_client.ts), and what each means for the user: the prompt,
// and whether typed lines are taken or wait for an answer. No I/O.
import type { ClientRooms } from "./rooms.ts";

// naming: waiting for the user to give a nick. joining: a hello is out, and input lines wait for
// its answer. chatting: joined. reconnecting: the connection dropped; waiting to connect again.
// rejoining: connected again, a hello is out, and input lines wait for its answer. leaving:
// half-closed, waiting for the server to close.
export type Phase = "naming" | "joining" | "chatting" | "reconnecting" | "rejoining" | "leaving";

/** The prompt in `phase`: the nick, after the room when there are several, and any reconnecting. */
export function promptFor(phase: Phase, nick: string, rooms: ClientRooms): string {
  if (phase === "naming") return "Nick: ";
  const offline = phase === "reconnecting" || phase === "rejoining";
  const where = rooms.names.length > 1 ? `[${rooms.current}] ` : "";
  return `${offline ? "(reconnecting) " : ""}${where}${nick}> `;
}

/** Whether lines typed in `phase` wait for the server's answer to a hello before they are taken. */
export function waitsForHello(phase: Phase): boolean {
  return phase === "joining" || phase === "reconnecting" || phase === "rejoining";
}
