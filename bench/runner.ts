// One measurement against one running server: the message workload (closed loop or a fixed
// offered rate) or the idle one, with what the server and the load generator cost meanwhile.
import { DeliveryTracker } from "./delivery_tracker.ts";
import { Histogram } from "./histogram.ts";
import { clockUs, createMembers, joinAll, type Members, type TargetKind } from "./members.ts";
import { cpuSeconds, machineBusySeconds, memory, ownCpuSeconds, resetPeakRss } from "./machine.ts";
import type { IdleRun, Joining, Latency, MessageRun } from "./report.ts";
import type { Server } from "./servers.ts";

/** How long before a send is due the rate mode stops sleeping and spins, with --spin. */
const SPIN_MS = 3;

/** Members whose joins may be in progress at once. */
const JOIN_CONCURRENCY = 32;

export interface MessageWorkload {
  target: TargetKind;
  members: number;
  messagesPerMember: number;
  /** Bytes of text per message. */
  size: number;
  /** Messages of one member in flight at once, in the closed loop. */
  window: number;
  /** Parley's members ask for echo: each message goes to all N, as in Redis; else to N - 1. */
  echo: boolean;
  /** Messages per second offered in all; 0 for the closed loop. */
  ratePerSecond: number;
  /**
   * With a rate: wait for each send in a busy loop for its last SPIN_MS, rather than on a timer
   * (which fires only every 1 to 2 ms, and would send in bursts). It takes the load generator's
   * whole core, so only where it has one of its own.
   */
  spin: boolean;
  /** Messages per member sent and awaited, unmeasured, before the measured ones. */
  warmupPerMember: number;
  /** A run with no delivery for this long is given up, and what is missing counts as lost. */
  stallMs: number;
  room: string;
}

const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function latencyMs(histogram: Histogram): Latency {
  const ms = (us: number) => round(us / 1000);
  return {
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    p999: ms(histogram.percentile(99.9)),
    max: ms(histogram.count ? histogram.max : 0),
    mean: ms(histogram.count ? histogram.sum / histogram.count : 0),
  };
}

// Joins every member; a member that cannot join is a failure of the run, not of the benchmark.
async function joinMembers(members: Members, count: number): Promise<Joining> {
  const startMs = performance.now();
  try {
    await joinAll(members, count, JOIN_CONCURRENCY);
  } catch (error) {
    members.failures.push(`joining: ${(error as Error).message}`);
  }
  const histogram = members.joinLatency;
  return {
    seconds: round((performance.now() - startMs) / 1000),
    latencyMs: {
      p50: round(histogram.percentile(50) / 1000),
      p99: round(histogram.percentile(99) / 1000),
      max: round(histogram.max / 1000),
    },
    retries: members.joinRetries,
  };
}

interface Phase {
  tracker: DeliveryTracker;
  startUs: number;
  stalled: boolean;
  sent: number;
  sendLag: Histogram | null;
}

// Sends `messagesPerMember` from every member and waits until every receiver has them all, or a
// member fails, or nothing arrives for the stall time.
function runPhase(members: Members, workload: MessageWorkload, messagesPerMember: number) {
  const { members: count, window, ratePerSecond, stallMs, spin } = workload;
  const closedLoop = ratePerSecond === 0;
  const tracker = new DeliveryTracker({
    members: count,
    messagesPerMember,
    echoes: members.echoes,
    window: closedLoop ? window : 0,
  });
  const sent = new Int32Array(count);
  let sentInAll = 0;
  let sendLag: Histogram | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Promise<Phase>((resolve) => {
    const startUs = clockUs();
    let finished = false;
    const finish = (stalled: boolean) => {
      if (finished) return;
      finished = true;
      const missing = stalled && closedLoop ? tracker.missing(sent) : "";
      if (missing) members.failures.push(`stalled: ${missing}`);
      clearInterval(watchdog);
      clearTimeout(timer);
      members.sink = null;
      members.onFailure = () => {};
      resolve({ tracker, startUs, stalled, sent: sentInAll, sendLag });
    };
    tracker.onDone = () => finish(false);
    members.onFailure = () => finish(false);
    members.sink = tracker;

    let seen = -1;
    let seenAtMs = performance.now();
    const watchdog = setInterval(() => {
      const now = performance.now();
      const progress = tracker.deliveries + tracker.unexpected + sentInAll;
      if (progress !== seen) {
        seen = progress;
        seenAtMs = now;
      } else if (now - seenAtMs > stallMs) {
        finish(true);
      }
    }, 100);

    if (closedLoop) {
      // A sender whose messages have all arrived somewhere sends more, once per turn of the event
      // loop, so that completions from many reads go out in one write per member.
      const dirty: number[] = [];
      const isDirty = new Uint8Array(count);
      const flush = () => {
        const now = clockUs();
        for (const member of dirty) {
          isDirty[member] = 0;
          const allowed = Math.min(messagesPerMember, tracker.completed[member] + window);
          if (allowed > sent[member]) {
            members.publish(member, sent[member], allowed - sent[member], now);
            sentInAll += allowed - sent[member];
            sent[member] = allowed;
          }
        }
        dirty.length = 0;
      };
      tracker.onComplete = (member) => {
        if (isDirty[member]) return;
        isDirty[member] = 1;
        if (dirty.push(member) === 1) setImmediate(flush);
      };
      const first = Math.min(window, messagesPerMember);
      for (let member = 0; member < count; member++) {
        members.publish(member, 0, first, startUs);
        sent[member] = first;
      }
      sentInAll = first * count;
    } else {
      // Message g is member g % count's number floor(g / count), due at g / rate seconds: each
      // member sends at rate / count, and the members take turns.
      const lag = sendLag = new Histogram();
      const total = count * messagesPerMember;
      const intervalMs = 1000 / ratePerSecond;
      const t0 = performance.now();
      const tick = () => {
        const nowMs = performance.now();
        const due = Math.min(total, Math.floor((nowMs - t0) / intervalMs) + 1);
        const nowUs = clockUs();
        for (; sentInAll < due; sentInAll++) {
          const member = sentInAll % count;
          members.publish(member, Math.floor(sentInAll / count), 1, nowUs);
          lag.record((nowMs - (t0 + sentInAll * intervalMs)) * 1000);
        }
        if (sentInAll < total) {
          const waitMs = t0 + sentInAll * intervalMs - performance.now();
          if (spin && waitMs < SPIN_MS) setImmediate(tick);
          else timer = setTimeout(tick, Math.max(0, spin ? waitMs - SPIN_MS : waitMs));
        }
      };
      tick();
    }
  });
}

interface Probe {
  atMs: number;
  /** The server's CPU seconds: of all its processes for a cluster, null if one cannot be read. */
  serverCpu: number | null;
  /** Each process's CPU seconds, for a cluster. */
  serverParts: (number | null)[];
  benchCpu: number;
  machineBusy: number | null;
}

function probe(server: Server): Probe {
  const serverParts = (server.processes ?? []).map((process) => cpuSeconds(process.pid));
  const serverCpu = server.processes
    ? serverParts.reduce<number | null>(
      (sum, part) => sum === null || part === null ? null : sum + part,
      0,
    )
    : cpuSeconds(server.pid);
  return {
    atMs: performance.now(),
    serverCpu,
    serverParts,
    benchCpu: ownCpuSeconds(),
    machineBusy: machineBusySeconds(),
  };
}

/** The message workload against `server`, which must be up and have no benchmark members yet. */
export async function runMessages(server: Server, workload: MessageWorkload): Promise<MessageRun> {
  const members = createMembers(workload.target, {
    host: server.host,
    port: server.port,
    ca: server.ca,
    ports: server.ports,
    size: workload.size,
    roomOf: () => workload.room,
    echo: workload.echo,
  });
  try {
    const joining = await joinMembers(members, workload.members);
    if (members.failures.length === 0 && workload.warmupPerMember > 0) {
      const warmup = await runPhase(members, workload, workload.warmupPerMember);
      if (warmup.stalled || members.failures.length > 0) {
        members.failures.unshift(
          `the warm-up did not complete (${warmup.tracker.unique} of ` +
            `${warmup.tracker.expected} deliveries)`,
        );
      }
    }
    const strayBefore = members.strays;
    const readsBefore = members.reads;
    const parsedBefore = members.parsedInFull;
    if (server.pid !== null) resetPeakRss(server.pid);
    const before = probe(server);
    const phase = members.failures.length > 0
      ? null
      : await runPhase(members, workload, workload.messagesPerMember);
    const after = probe(server);
    return messageRun(server, workload, joining, members, phase, before, after, {
      strays: strayBefore,
      reads: readsBefore,
      parsedInFull: parsedBefore,
    });
  } finally {
    await members.close();
  }
}

// A cluster's CPU, process by process, in per cent of one core: where its time goes.
function cpuByProcess(
  server: Server,
  before: Probe,
  after: Probe,
  windowSeconds: number,
): Record<string, number | null> | null {
  if (!server.processes) return null;
  return Object.fromEntries(server.processes.map(({ name }, i) => {
    const [start, end] = [before.serverParts[i], after.serverParts[i]];
    const seconds = start === null || end === null ? null : end - start;
    return [name, seconds === null ? null : Math.round((seconds / windowSeconds) * 100)];
  }));
}

function messageRun(
  server: Server,
  workload: MessageWorkload,
  joining: Joining,
  members: Members,
  phase: Phase | null,
  before: Probe,
  after: Probe,
  countsBefore: { strays: number; reads: number; parsedInFull: number },
): MessageRun {
  const tracker = phase?.tracker ?? new DeliveryTracker({
    members: workload.members,
    messagesPerMember: workload.messagesPerMember,
    echoes: members.echoes,
    window: 0,
  });
  const lastUs = tracker.unique > 0 ? tracker.lastDeliveryUs : clockUs();
  const seconds = phase ? Math.max(1e-6, (lastUs - phase.startUs) / 1e6) : 0;
  const windowSeconds = (after.atMs - before.atMs) / 1000;
  const serverCpu = after.serverCpu !== null && before.serverCpu !== null
    ? after.serverCpu - before.serverCpu
    : null;
  const benchCpu = after.benchCpu - before.benchCpu;
  // Whatever else kept the machine busy: other processes, or kernel work charged to nobody.
  const otherCpu = after.machineBusy !== null && before.machineBusy !== null && serverCpu !== null
    ? Math.max(0, after.machineBusy - before.machineBusy - serverCpu - benchCpu)
    : null;
  const mem = memory(server.pid);
  const closedLoop = workload.ratePerSecond === 0;
  const lag = phase?.sendLag;
  return {
    mode: closedLoop ? "closed" : "rate",
    target: server.name,
    members: workload.members,
    size: workload.size,
    window: closedLoop ? workload.window : null,
    fanout: tracker.fanout,
    offeredRate: closedLoop ? null : workload.ratePerSecond,
    messagesPerMember: workload.messagesPerMember,
    join: joining,
    seconds: round(seconds, 4),
    messages: phase?.sent ?? 0,
    deliveries: tracker.deliveries,
    expectedDeliveries: tracker.expected,
    deliveriesPerSecond: seconds > 0 ? Math.round(tracker.deliveries / seconds) : 0,
    messagesPerSecond: seconds > 0 ? Math.round((phase?.sent ?? 0) / seconds) : 0,
    latencyMs: latencyMs(tracker.latency),
    parsedInFull: members.parsedInFull - countsBefore.parsedInFull,
    deliveriesPerRead: round(
      tracker.deliveries / Math.max(1, members.reads - countsBefore.reads),
      1,
    ),
    lost: phase ? tracker.lost() : 0, // a run that never began lost nothing: its failure says why
    duplicated: tracker.duplicated,
    outOfOrder: tracker.outOfOrder,
    unexpected: tracker.unexpected + members.strays - countsBefore.strays,
    stalled: phase?.stalled ?? false,
    failures: [...members.failures],
    spin: !closedLoop && workload.spin,
    sendLagMs: lag ? { p99: round(lag.percentile(99) / 1000), max: round(lag.max / 1000) } : null,
    serverCpuSeconds: serverCpu === null ? null : round(serverCpu, 2),
    serverCpuPercent: serverCpu === null ? null : Math.round((serverCpu / windowSeconds) * 100),
    serverCpuPercentByProcess: cpuByProcess(server, before, after, windowSeconds),
    serverPeakRssBytes: mem?.peakRssBytes ?? null,
    serverRssBytes: mem?.rssBytes ?? null,
    benchCpuSeconds: round(benchCpu, 2),
    benchCpuPercent: Math.round((benchCpu / windowSeconds) * 100),
    otherCpuPercent: otherCpu === null ? null : Math.round((otherCpu / windowSeconds) * 100),
  };
}

export interface IdleWorkload {
  target: TargetKind;
  members: number;
  /** Members per room (or channel); 0 for all in one. */
  roomSize: number;
  /** How long the server is left alone before its memory is read, before and after the joins. */
  settleMs: number;
  room: string;
}

// Each member that joins a room is announced to those already in it.
function joinNoticesExpected(members: number, roomSize: number): number {
  const size = roomSize > 0 ? roomSize : members;
  const pairs = (n: number) => (n * (n - 1)) / 2;
  return Math.floor(members / size) * pairs(size) + pairs(members % size);
}

/** `members` join and stay silent; the server's RSS before and after, per member. */
export async function runIdle(server: Server, workload: IdleWorkload): Promise<IdleRun> {
  const { roomSize, room } = workload;
  const members = createMembers(workload.target, {
    host: server.host,
    port: server.port,
    ca: server.ca,
    ports: server.ports,
    size: 0,
    roomOf: roomSize > 0 ? (member) => `${room}${Math.floor(member / roomSize)}` : () => room,
    echo: false,
  });
  const pid = server.pid;
  try {
    await sleep(workload.settleMs);
    const rssBefore = memory(pid)?.rssBytes ?? null;
    if (pid !== null) resetPeakRss(pid);
    const serverCpuBefore = cpuSeconds(pid);
    const benchCpuBefore = ownCpuSeconds();
    const joining = await joinMembers(members, workload.members);
    await sleep(workload.settleMs);
    const after = memory(pid);
    const noticesAtReading = members.notices;
    const serverCpuAfter = cpuSeconds(pid);
    const serverCpu = serverCpuAfter === null || serverCpuBefore === null
      ? null
      : serverCpuAfter - serverCpuBefore;
    const rssAfter = after?.rssBytes ?? null;
    return {
      mode: "idle",
      target: server.name,
      members: workload.members,
      roomSize: roomSize > 0 ? roomSize : workload.members,
      join: joining,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssPerMemberBytes: rssBefore === null || rssAfter === null
        ? null
        : Math.round((rssAfter - rssBefore) / workload.members),
      serverPeakRssBytes: after?.peakRssBytes ?? null,
      serverCpuSeconds: serverCpu === null ? null : round(serverCpu, 2),
      benchCpuSeconds: round(ownCpuSeconds() - benchCpuBefore, 2),
      joinNotices: workload.target === "redis" ? null : {
        received: noticesAtReading,
        expected: joinNoticesExpected(workload.members, roomSize),
      },
      failures: [...members.failures],
    };
  } finally {
    await members.close();
  }
}
