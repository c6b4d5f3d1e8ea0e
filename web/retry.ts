// How long the page waits before it connects again after its socket dropped (page_state.ts). No
// DOM and no I/O.

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/**
 * The wait before attempt number `attempt` (from 0) since the drop, the server's last error code
 * being `lastError`, with `random` in [0, 1). None before the first attempt, since a drop is often
 * a blip; then 0.5 s doubling up to 10 s, each cut by up to a half at random so that a restarted
 * server's members do not all come at once. After a flood the server would only close the page
 * again: it waits the longest.
 */
export function retryWait(attempt: number, lastError: string, random: number): number {
  if (attempt === 0 && lastError !== "flood") return 0;
  const full = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  const wait = lastError === "flood" ? MAX_RETRY_MS : full;
  return Math.round(wait * (1 - random / 2));
}
