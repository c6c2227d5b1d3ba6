import type { ReactNode } from "react";
import { RANGE_LABELS, RANGE_PRESETS, type RangePreset } from "../lib/ranges";
import { Panel } from "./ui";

/** One figure of the overview and analytics cards; data-value holds the exact value. */
export function StatCard({
  label,
  value,
  testId,
  exact,
  sub,
}: {
  label: string;
  value: string;
  testId: string;
  exact?: string;
  sub?: ReactNode;
}) {
  return (
    <Panel className="p-5">
      <p className="text-sm text-slate-500">{label}</p>
      <p
        className="mt-2 text-3xl font-semibold tabular-nums"
        data-testid={testId}
        data-value={exact ?? value}
      >
        {value}
      </p>
      {sub && <div className="mt-1 text-xs text-slate-500">{sub}</div>}
    </Panel>
  );
}

/** The preset range buttons; `extra` adds more (the analytics page's "Custom"). */
export function RangeButtons({
  selected,
  onSelect,
  extra,
}: {
  selected: RangePreset | null;
  onSelect: (preset: RangePreset) => void;
  extra?: ReactNode;
}) {
  return (
    <div
      className="inline-flex rounded-lg border border-slate-200 bg-white p-0.5"
      role="group"
      aria-label="Time range"
    >
      {RANGE_PRESETS.map((p) => (
        <button
          key={p}
          type="button"
          onClick={() => onSelect(p)}
          data-testid={`range-${p}`}
          aria-pressed={selected === p}
          className={`rounded-md px-3 py-1 text-sm ${selected === p ? "bg-indigo-600 text-white" : "text-slate-600 hover:text-slate-900"}`}
        >
          {RANGE_LABELS[p]}
        </button>
      ))}
      {extra}
    </div>
  );
}

/** "+12.0%" / "−3.5%" of this period against the previous one; null when there was nothing before. */
export function changeLabel(current: number, previous: number): string | null {
  if (previous === 0) return null;
  const change = (current - previous) / previous;
  return `${change >= 0 ? "+" : "−"}${Math.abs(change * 100).toFixed(1)}%`;
}
