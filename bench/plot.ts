// Turns bench/main.ts's --json report into an SVG chart: deliveries per second (or another figure
// of the medians) against the number of members, one line per server and message size. Plain SVG
// written by hand, so that it needs nothing but a runtime.
//
//   deno run -A bench/main.ts --target both --runtime both --members 10,100,500 --json >out.json
//   deno run -A bench/plot.ts out.json --out results.svg
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseCommandLine, runProgram, UsageError } from "../cli.ts";

const USAGE = `Usage: plot.ts RESULTS.json [--out FILE.svg] [--metric NAME] [--title TEXT]

Draws the medians of a bench/main.ts --json report against the number of members, one line
per server (and message size, where there are several). Writes SVG to FILE.svg, or to stdout.

  --metric NAME   a numeric field of the medians (default deliveriesPerSecond); latency
                  percentiles as latencyMs.p99
  --title TEXT    the chart's title (default: the metric, and the report's command)
`;

interface ReportResult {
  target: string;
  mode: string;
  members: number;
  size: number | null;
  median: Record<string, unknown>;
}

interface Series {
  label: string;
  points: Array<[members: number, value: number]>;
}

const LABELS: Record<string, string> = {
  deliveriesPerSecond: "deliveries per second",
  messagesPerSecond: "messages per second",
  "latencyMs.p50": "p50 latency (ms)",
  "latencyMs.p99": "p99 latency (ms)",
  serverCpuPercent: "server CPU (% of one core)",
  rssPerMemberBytes: "server RSS per member (bytes)",
};

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 90, right: 170, top: 50, bottom: 60 };
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];

function metricOf(median: Record<string, unknown>, metric: string): number | null {
  let value: unknown = median;
  for (const key of metric.split(".")) value = (value as Record<string, unknown> | null)?.[key];
  return typeof value === "number" ? value : null;
}

export function seriesOf(results: ReportResult[], metric: string): Series[] {
  const sizes = new Set(results.map((result) => result.size));
  const byLabel = new Map<string, Series>();
  for (const result of results) {
    if (result.mode === "idle" && metric === "deliveriesPerSecond") continue;
    const value = metricOf(result.median, metric);
    if (value === null) continue;
    const label = sizes.size > 1 && result.size !== null
      ? `${result.target}, ${result.size} B`
      : result.target;
    if (!byLabel.has(label)) byLabel.set(label, { label, points: [] });
    byLabel.get(label)!.points.push([result.members, value]);
  }
  for (const series of byLabel.values()) series.points.sort((a, b) => a[0] - b[0]);
  return [...byLabel.values()];
}

/** Round steps (1, 2 or 5 times a power of ten) from 0 to at least `max`. */
function linearTicks(max: number): number[] {
  if (max <= 0) return [0, 1];
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step; tick += step) ticks.push(tick);
  return ticks;
}

function compact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(2)}k`;
  return String(+value.toFixed(3));
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

export function plot(series: Series[], title: string, yLabel: string): string {
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  // Member counts span decades (10, 100, 500): a log axis spreads them evenly.
  const logX = xMin > 0 && xMax / xMin >= 10;
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  const yTicks = linearTicks(Math.max(...ys));
  const yMax = yTicks[yTicks.length - 1];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xScale = (x: number) => {
    if (xMax === xMin) return MARGIN.left + plotWidth / 2;
    const t = logX
      ? (Math.log(x) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin))
      : (x - xMin) / (xMax - xMin);
    return MARGIN.left + t * plotWidth;
  };
  const yScale = (y: number) => MARGIN.top + plotHeight - (y / yMax) * plotHeight;
  const at = (n: number) => n.toFixed(1);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
      `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  );
  for (const tick of yTicks) {
    const y = at(yScale(tick));
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${
        MARGIN.left + plotWidth
      }" y2="${y}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        compact(tick)
      }</text>`,
    );
  }
  for (const tick of xTicks) {
    const x = at(xScale(tick));
    const bottom = MARGIN.top + plotHeight;
    out.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${bottom}" stroke="#eee"/>`,
      `<text x="${x}" y="${bottom + 18}" text-anchor="middle">${tick}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" ` +
      `fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 16}" text-anchor="middle">members (N${
      logX ? ", log scale" : ""
    })</text>`,
    `<text transform="translate(20 ${MARGIN.top + plotHeight / 2}) rotate(-90)" ` +
      `text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = s.points.map(([x, y]) => `${at(xScale(x))},${at(yScale(y))}`).join(" ");
    out.push(
      `<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      ...s.points.map(([x, y]) =>
        `<circle cx="${at(xScale(x))}" cy="${at(yScale(y))}" r="3.5" fill="${colour}">` +
        `<title>${escapeXml(s.label)}: N=${x}, ${compact(y)}</title></circle>`
      ),
    );
    const legendY = MARGIN.top + 10 + i * 20;
    const legendX = MARGIN.left + plotWidth + 16;
    out.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 22}" y2="${legendY}" ` +
        `stroke="${colour}" stroke-width="2"/>`,
      `<text x="${legendX + 28}" y="${legendY}" dominant-baseline="middle">${
        escapeXml(s.label)
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    out: { type: "string" },
    metric: { type: "string", default: "deliveriesPerSecond" },
    title: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return Promise.resolve(0);
  }
  if (positionals.length !== 1) {
    throw new UsageError("give one results file (bench/main.ts --json)");
  }
  let report: { command?: string; results?: ReportResult[] };
  try {
    report = JSON.parse(readFileSync(positionals[0], "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(error as Error).message}`);
  }
  const series = seriesOf(report.results ?? [], values.metric);
  if (series.length === 0) {
    throw new UsageError(`${positionals[0]} has no results with a numeric "${values.metric}"`);
  }
  const title = values.title ?? (report.command?.replace(/\s+--json\b/, "") ?? values.metric);
  const svg = plot(series, title, LABELS[values.metric] ?? values.metric);
  if (values.out) writeFileSync(values.out, svg);
  else process.stdout.write(svg);
  return Promise.resolve(0);
}

if (import.meta.main) await runProgram("plot", main);
