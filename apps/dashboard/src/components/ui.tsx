import type { ReactNode } from "react";

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-center justify-between gap-4">
      <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
      {children}
    </div>
  );
}

export function Panel({ children, className = "" }: { children: ReactNode; className?: string }) {
  return (
    <section className={`rounded-xl border border-slate-200 bg-white shadow-sm ${className}`}>
      {children}
    </section>
  );
}

export function Badge({
  children,
  tone = "slate",
  testId,
}: {
  children: ReactNode;
  tone?: "slate" | "green" | "red" | "amber" | "blue";
  testId?: string;
}) {
  const tones = {
    slate: "bg-slate-100 text-slate-700",
    green: "bg-emerald-50 text-emerald-700",
    red: "bg-red-50 text-red-700",
    amber: "bg-amber-50 text-amber-800",
    blue: "bg-sky-50 text-sky-800",
  } as const;
  return (
    <span
      data-testid={testId}
      className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium ${tones[tone]}`}
    >
      {children}
    </span>
  );
}

export function LoadState({
  error,
  children,
}: {
  error: { message: string } | null;
  children: ReactNode;
}) {
  if (error) {
    return (
      <p
        role="alert"
        data-testid="load-error"
        className="rounded-md bg-red-50 px-4 py-3 text-sm text-red-700"
      >
        Could not load data: {error.message}
      </p>
    );
  }
  return <>{children}</>;
}

/** The title strip at the top of a Panel. */
export function PanelTitle({ children }: { children: ReactNode }) {
  return (
    <h2 className="border-b border-slate-100 px-4 py-3 text-sm font-semibold text-slate-700">
      {children}
    </h2>
  );
}
