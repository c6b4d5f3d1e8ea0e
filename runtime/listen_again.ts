// Serving a port anew, as a renewed certificate needs where a runtime's server cannot change its
// own (Bun's): the old server is told to stop listening, which it does a moment later (the
// listening socket is closed in the background), and the new one binds the port once it is free.

// A stopped listener lets go of its port within a few milliseconds; past this, something else
// holds it, and the caller hears so.
const REBIND_WITHIN_MS = 2000;
const REBIND_EVERY_MS = 1;

/** The result of `listen`, called again while the port is still in use, within a bound. */
export async function listenAgain<T>(listen: () => T): Promise<T> {
  const giveUpAt = performance.now() + REBIND_WITHIN_MS;
  while (true) {
    try {
      return listen();
    } catch (error) {
      const inUse = (error as { code?: unknown } | null)?.code === "EADDRINUSE";
      if (!inUse || performance.now() > giveUpAt) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, REBIND_EVERY_MS));
  }
}
