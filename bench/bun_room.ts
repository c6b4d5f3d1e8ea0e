// A chat room in as few lines as Bun allows, for the benchmark to set Parley over WebSocket beside:
// Bun.serve's WebSocket pub/sub (uWebSockets publishing one frame to every subscriber in native
// code), with no nicks, history, limits or checks. It speaks just enough of Parley's protocol for
// the benchmark's WebSocket members: a hello gets a welcome and joins the one room; any other
// message goes to everyone in it as it came (to the sender too if its hello asked for echo).
// A tool for measuring the runtime's fastest path, not a server to run.
import process from "node:process";

interface Member {
  echo: boolean;
}

const server = Bun.serve<Member>({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  fetch(request, server) {
    if (server.upgrade(request, { data: { echo: false } })) return undefined;
    return new Response("Expected a WebSocket upgrade\n", { status: 426 });
  },
  websocket: {
    idleTimeout: 0,
    sendPings: false,
    perMessageDeflate: false,
    message(ws, text) {
      if (typeof text !== "string") return;
      if (text.startsWith('{"type":"hello"')) {
        ws.data.echo = JSON.parse(text).echo === true;
        ws.subscribe("room");
        ws.send('{"type":"welcome"}');
      } else if (ws.data.echo) {
        server.publish("room", text);
      } else {
        ws.publish("room", text);
      }
    },
  },
});
process.stdout.write(`listening on 127.0.0.1:${server.port}\n`);
process.once("SIGTERM", () => process.exit(0));
