"use client";

import type { ReactNode } from "react";
import { Panel } from "./ui";

/** Shared look of the key and budget forms (the providers page has its own copies). */
export const inputClass =
  "rounded-md border border-slate-300 px-2 py-1.5 text-sm focus:border-slate-500 focus:outline-none";
export const buttonClass =
  "rounded-md border border-slate-300 px-2.5 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50";
export const primaryClass =
  "rounded-md bg-slate-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-50";

export function Field({
  label,
  children,
  className = "",
}: {
  label: string;
  children: ReactNode;
  className?: string;
}) {
  return (
    <label className={`flex flex-col gap-1 text-xs font-medium text-slate-600 ${className}`}>
      {label}
      {children}
    </label>
  );
}

/** A labelled text input (the filter, price and model forms). */
export function TextField({
  label,
  value,
  onChange,
  testId,
  className = "",
  type = "text",
  placeholder,
  inputMode,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  testId: string;
  className?: string;
  type?: "text" | "date";
  placeholder?: string;
  inputMode?: "decimal";
}) {
  return (
    <Field label={label}>
      <input
        type={type}
        className={`${inputClass} ${className}`}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        inputMode={inputMode}
        data-testid={testId}
      />
    </Field>
  );
}

export function ErrorLine({ error }: { error: { message: string } | null }) {
  if (!error) return null;
  return (
    <p role="alert" data-testid="form-error" className="mt-2 text-sm text-red-700">
      {friendlyError(error.message)}
    </p>
  );
}

/** tRPC input errors arrive as a JSON list of zod issues; show their messages, not the JSON. */
export function friendlyError(message: string): string {
  if (!message.startsWith("[")) return message;
  try {
    const issues = JSON.parse(message) as { message?: string; path?: (string | number)[] }[];
    return issues
      .map((i) =>
        i.path && i.path.length > 0 ? `${i.path.join(".")}: ${i.message ?? ""}` : (i.message ?? ""),
      )
      .join(" ");
  } catch {
    return message;
  }
}

/** "" → null, "60" → 60; anything else is passed on as NaN for the server to refuse. */
export function optionalInt(text: string): number | null {
  const t = text.trim();
  return t === "" ? null : Number(t);
}

/** A bare text input for an optional whole-number limit ("" = no limit); parse it with optionalInt. */
export function LimitInput({
  value,
  onChange,
  placeholder,
  width,
  testId,
}: {
  value: string;
  onChange: (value: string) => void;
  placeholder: string;
  /** A Tailwind width class, e.g. "w-28". */
  width: string;
  testId: string;
}) {
  return (
    <input
      className={`${inputClass} ${width}`}
      inputMode="numeric"
      value={value}
      onChange={(e) => onChange(e.target.value)}
      placeholder={placeholder}
      data-testid={testId}
    />
  );
}

export interface SelectOption<T extends string> {
  value: T;
  label: string;
}

/** A <select> over a list of options; the chosen value goes back as one of the option values. */
export function OptionSelect<T extends string>({
  value,
  onChange,
  options,
  testId,
  disabled,
}: {
  value: T;
  onChange: (value: T) => void;
  options: readonly SelectOption<T>[];
  testId: string;
  disabled?: boolean;
}) {
  return (
    <select
      className={inputClass}
      value={value}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value as T)}
      data-testid={testId}
    >
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

/** The bordered, full-width table of the keys, budgets and alerts pages, with its header row. */
export function DataTable({
  testId,
  busy,
  columns,
  children,
}: {
  testId: string;
  busy: boolean;
  columns: readonly string[];
  children: ReactNode;
}) {
  return (
    <Panel className="overflow-x-auto">
      <table className="min-w-full text-sm" data-testid={testId} aria-busy={busy}>
        <thead className="border-b border-slate-200 bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {columns.map((c) => (
              <th key={c} className="px-3 py-2 font-medium">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </Panel>
  );
}

/** The one row a DataTable shows when it has nothing to list. */
export function EmptyRow({
  colSpan,
  testId,
  children,
}: {
  colSpan: number;
  testId: string;
  children: ReactNode;
}) {
  return (
    <tr>
      <td colSpan={colSpan} className="px-3 py-10 text-center text-slate-500" data-testid={testId}>
        {children}
      </td>
    </tr>
  );
}

/** A small red button for a destructive action; the caller asks for confirmation where it should. */
export function DangerButton({
  onClick,
  disabled,
  testId,
  children,
}: {
  onClick: () => void;
  disabled: boolean;
  testId: string;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={`${buttonClass} text-red-700`}
      disabled={disabled}
      onClick={onClick}
      data-testid={testId}
    >
      {children}
    </button>
  );
}
