// --identify-needs-tls on a node of a cluster: the node as connections without encryption (plain
// TCP, plain WebSocket) are served by it. Each member it serves is marked before it joins, so
// that its account inputs and its hello's password meet accounts that refuse every password with
// tls_required (ClusterAccounts, as Accounts.overPlainText on one server); all else is the node's.
import type { ChatService } from "../handlers.ts";
import type { ClusterNode } from "./node.ts";

/** `node`'s service for connections without encryption when passwords need TLS. */
export function overPlainText(node: ClusterNode): ChatService {
  return {
    handle(asker, input) {
      if (asker.nick === null) node.accounts.servePlainText(asker); // once is enough: a WeakSet
      return node.handle(asker, input);
    },
    welcomeGuest(asker, greeted) {
      node.accounts.servePlainText(asker);
      return node.welcomeGuest(asker, greeted);
    },
    leave: (member) => node.leave(member),
  };
}
