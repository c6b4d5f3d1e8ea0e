// What members ask about the whole cluster: who is in a room, and which rooms there are. Both are
// read from Redis, where each room's member list changes in the same step as its joins and leaves.
import type { Asker } from "../handlers.ts";
import { nameKey, ProtocolError } from "../../protocol.ts";
import { roomKeys, ROOMS_KEY } from "./redis_link.ts";
import { clusterDown, memberList } from "./members.ts";
import type { ClusterNode } from "./node.ts";

export async function who(node: ClusterNode, asker: Asker, roomName?: string): Promise<void> {
  const name = roomName ?? asker.room!.name;
  const key = nameKey(name);
  let nicks: string[];
  let stored: string | null;
  try {
    [nicks, stored] = await Promise.all([
      node.link.commands.hVals(roomKeys(key).members),
      node.link.commands.hGet(ROOMS_KEY, key),
    ]);
  } catch {
    throw clusterDown("the list could not be read");
  }
  if (nicks.length === 0) {
    throw new ProtocolError("no_such_room", `There is no room called ${roomName}`);
  }
  asker.sendMessage({ type: "who", room: stored ?? name, ...memberList(nicks) });
}

export async function listRooms(node: ClusterNode, asker: Asker): Promise<void> {
  let rooms: Array<{ name: string; members: number }>;
  try {
    const names = await node.link.commands.hGetAll(ROOMS_KEY);
    const keys = Object.keys(names);
    const counts = await Promise.all(
      keys.map((key) => node.link.commands.hLen(roomKeys(key).members)),
    );
    rooms = keys.map((key, i) => ({ name: names[key], members: counts[i] }))
      .filter((room) => room.members > 0);
  } catch {
    throw clusterDown("the list could not be read");
  }
  rooms.sort((a, b) => a.name.localeCompare(b.name));
  asker.sendMessage({ type: "rooms", rooms });
}
