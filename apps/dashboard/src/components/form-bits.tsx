"use client";

import type { ReactNode } from "react";

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
