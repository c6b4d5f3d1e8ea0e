// The keys app.ts answers on the page, as /help lists them after the slash commands
// (page_state.ts). No DOM and no I/O.

/** The page's keys, after the commands in /help. */
export const PAGE_KEYS = [
  "keys: Tab completes a nick, a command or a room; Up and Down recall what you sent",
  "      Alt+Up and Alt+Down switch conversations",
  "      Escape comes back to the line",
];
