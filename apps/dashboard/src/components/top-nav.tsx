"use client";

import { createAuthClient } from "better-auth/react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";

const LINKS = [
  { href: "/", label: "Overview" },
  { href: "/analytics", label: "Analytics" },
  { href: "/requests", label: "Requests" },
  { href: "/teams", label: "Teams" },
  { href: "/keys", label: "Keys" },
  { href: "/budgets", label: "Budgets" },
  { href: "/alerts", label: "Alerts" },
  { href: "/providers", label: "Providers" },
  { href: "/models", label: "Models" },
  { href: "/routes", label: "Routes" },
  { href: "/health", label: "Health" },
  { href: "/prices", label: "Prices" },
  { href: "/members", label: "Organisation" },
] as const;

export function TopNav({ orgName, email }: { orgName: string; email: string }) {
  const pathname = usePathname();
  const router = useRouter();

  async function signOut() {
    await createAuthClient({ baseURL: window.location.origin }).signOut();
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <header className="border-b border-slate-200 bg-white">
      {/* Wraps rather than overflows when the links outgrow a narrow window. */}
      <div className="mx-auto flex min-h-14 max-w-7xl flex-wrap items-center gap-x-5 gap-y-1 px-4 py-2 sm:px-6">
        <span className="font-semibold tracking-tight">Switchyard</span>
        <span
          className="whitespace-nowrap rounded bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600"
          data-testid="nav-org"
        >
          {orgName}
        </span>
        <nav className="flex flex-wrap">
          {LINKS.map((link) => (
            <Link
              key={link.href}
              href={link.href}
              data-testid={`nav-${link.label.toLowerCase()}`}
              className={`rounded-md px-2.5 py-1.5 text-sm ${
                pathname === link.href
                  ? "bg-slate-100 font-medium text-slate-900"
                  : "text-slate-600 hover:text-slate-900"
              }`}
            >
              {link.label}
            </Link>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          <span className="text-sm text-slate-600" data-testid="nav-email">
            {email}
          </span>
          <button
            type="button"
            onClick={signOut}
            data-testid="sign-out"
            className="whitespace-nowrap rounded-md border border-slate-300 px-3 py-1.5 text-sm text-slate-700 hover:bg-slate-50"
          >
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
