// A member's `history` request on a node: a page of a room's events read back from its stream in
// Redis, in the room's feed's turn, so that nothing live is sent in the middle of it.
import { type Asker, MAX_HISTORY_PAGE, sendHistory } from "../handlers.ts";
import type { ServerMessage } from "../../protocol.ts";
import { clusterDown } from "./members.ts";
import type { ClusterNode } from "./node.ts";

export async function historyPage(
  node: ClusterNode,
  asker: Asker,
  roomName: string,
  after: number,
  limit?: number,
): Promise<void> {
  const room = node.rooms.roomOf(asker, roomName);
  const page = Math.min(limit ?? MAX_HISTORY_PAGE, MAX_HISTORY_PAGE);
  await node.rooms.feedOf(room).exclusive(async () => {
    // One more than asked for, to tell whether more is left.
    const missed = await node.rooms.messages(room, after, page + 1).catch(() => {
      throw clusterDown("history could not be read");
    });
    const more = sendHistory(asker, missed.slice(0, page), "oldest") < missed.length;
    const end: ServerMessage = { type: "history_end", room: room.name };
    asker.sendMessage(more ? { ...end, more: true } : end);
  });
}
