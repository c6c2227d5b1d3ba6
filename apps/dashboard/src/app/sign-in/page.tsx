import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { SignInForm } from "../../components/sign-in-form";
import { getSessionUser } from "../../server/session";

export const dynamic = "force-dynamic";

export default async function SignInPage() {
  if (await getSessionUser(await headers())) redirect("/");
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
        <h1 className="text-xl font-semibold">Sign in to Switchyard</h1>
        <p className="mt-1 text-sm text-slate-500">Accounts are created by your administrator.</p>
        <SignInForm />
      </div>
    </main>
  );
}
