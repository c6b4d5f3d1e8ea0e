// A question one node asks another over Redis and the answer it waits for, as /whois and the
// moderation of another node's member do: the question goes on the other node's channel with a
// number, the answer comes back on this node's with the same number, and the wait is bounded,
// since a frozen node never answers. Nobody listening on the channel means the node is gone.
// The bounded wait of the node's other waits is orLate.
import type { RedisLink } from "./redis_link.ts";

/** What `promise` settles to, or "late" once `ms` have passed first; its timer never outlives it. */
export async function orLate<T>(promise: Promise<T>, ms: number): Promise<T | "late"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The questions one kind of caller asks, numbered, with what resolves each. */
export class NodeQuestions<Answer> {
  #ids = 0;
  #waiting = new Map<number, (answer: Answer) => void>();

  /**
   * Publishes `question(id)` on `channel` and resolves to the answer given to `answered` for that
   * id, "late" after `ms`, or "gone" if nobody listens on `channel`; rejects if it cannot publish.
   */
  async ask(
    link: RedisLink,
    channel: string,
    question: (id: number) => unknown,
    ms: number,
  ): Promise<Answer | "late" | "gone"> {
    const id = ++this.#ids;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<Answer | "late">((resolve) => {
      this.#waiting.set(id, resolve);
      timer = setTimeout(() => resolve("late"), ms);
    });
    try {
      if (await link.publish(channel, JSON.stringify(question(id))) === 0) return "gone";
      return await answer;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(id);
    }
  }

  /** The answer to question `id`; one that comes after its wait ended is dropped. */
  answered(id: number, answer: Answer): void {
    this.#waiting.get(id)?.(answer);
  }
}
