/**
 * The figures issue 7's targets are written in (Switchyard against the floor, and against
 * Portkey), from the rounds of one run.
 *
 * Each figure is the median of the rounds' own values: a round measures the rows of a
 * scenario back to back (floor, then Switchyard), so a slow minute of a shared machine
 * weighs on both sides of that round's ratio. The ratio of the rows' medians, which the
 * table's columns give, can pair the floor's best round with Switchyard's worst, or the
 * other way round: on a VM whose floor moved between 8,000 and 15,800 req/s within one
 * run, streaming measured 0.55× that way where its three rounds gave 0.65, 0.55 and 0.65.
 * Both are reported; the targets are checked on the rounds' median.
 */

/** What one row measured in one round (the fields the figures use). */
export interface RoundMeasure {
  rps: number;
  p50: number;
  p99: number;
  ttfbP50: number;
}

export type FigureName = "throughputJson64" | "throughputSse16" | "addedP50" | "addedP99" | "addedTtfbSse1" | "addedTtfbSse16" | "vsPortkeyJson64";

export interface Figure {
  /** The median of `rounds`; null when no round had both rows. */
  value: number | null;
  /** Each round's value, in round order (rounds missing either row are left out). */
  rounds: number[];
  /** The same figure from the two rows' medians over the rounds. */
  ofMedians: number | null;
}

/** How each figure compares two rows of one scenario: `a` against `b`. */
const definitions: Record<FigureName, { scenario: string; a: string; b: string; kind: "ratio" | "diff"; of: keyof RoundMeasure }> = {
  throughputJson64: { scenario: "json c=64", a: "switchyard", b: "floor", kind: "ratio", of: "rps" },
  throughputSse16: { scenario: "sse c=16", a: "switchyard", b: "floor", kind: "ratio", of: "rps" },
  addedP50: { scenario: "json c=1", a: "switchyard", b: "floor", kind: "diff", of: "p50" },
  addedP99: { scenario: "json c=1", a: "switchyard", b: "floor", kind: "diff", of: "p99" },
  addedTtfbSse1: { scenario: "sse c=1", a: "switchyard", b: "floor", kind: "diff", of: "ttfbP50" },
  addedTtfbSse16: { scenario: "sse c=16", a: "switchyard", b: "floor", kind: "diff", of: "ttfbP50" },
  vsPortkeyJson64: { scenario: "json c=64", a: "switchyard", b: "portkey", kind: "ratio", of: "rps" },
};

export const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function compare(kind: "ratio" | "diff", a: number, b: number): number | null {
  if (kind === "diff") return a - b;
  return b > 0 ? a / b : null;
}

/**
 * The figures from each scenario's rounds, keyed `"<scenario>|<row>"` as the runner keeps
 * them (one entry per round, in order).
 */
export function computeFigures(perRound: ReadonlyMap<string, readonly RoundMeasure[]>): Record<FigureName, Figure> {
  const out = {} as Record<FigureName, Figure>;
  for (const [name, d] of Object.entries(definitions) as [FigureName, (typeof definitions)[FigureName]][]) {
    const as = perRound.get(`${d.scenario}|${d.a}`) ?? [];
    const bs = perRound.get(`${d.scenario}|${d.b}`) ?? [];
    const rounds: number[] = [];
    for (let i = 0; i < Math.min(as.length, bs.length); i++) {
      const v = compare(d.kind, as[i]![d.of], bs[i]![d.of]);
      if (v !== null) rounds.push(v);
    }
    const ma = median(as.map((m) => m[d.of]));
    const mb = median(bs.map((m) => m[d.of]));
    out[name] = { value: median(rounds), rounds, ofMedians: ma === null || mb === null ? null : compare(d.kind, ma, mb) };
  }
  return out;
}
