import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { TopNav } from "../../components/top-nav";
import { createCaller } from "../../server/root";
import { getSessionUser } from "../../server/session";
import { createContextForUser } from "../../server/trpc";
import { getDb } from "../../server/db";

export const dynamic = "force-dynamic";

/** Every page in this group needs a session; without one the user goes to /sign-in. */
export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const user = await getSessionUser(await headers());
  if (!user) redirect("/sign-in");
  const me = await createCaller(await createContextForUser(getDb(), user)).me.get();
  const orgNames = [...new Set(me.memberships.map((m) => m.orgName))];
  return (
    <div className="min-h-screen">
      <TopNav orgName={orgNames.join(", ") || "No organisation"} email={me.email} />
      <main className="mx-auto max-w-7xl px-4 py-8 sm:px-6">{children}</main>
    </div>
  );
}
