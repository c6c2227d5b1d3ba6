import { InviteAccept } from "../../../components/invite-accept";

export const dynamic = "force-dynamic";

/** Public: the invitation link from the email. The token is the credential; it is never logged. */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-md rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
        <h1 className="text-xl font-semibold">Join Switchyard</h1>
        <p className="mt-1 text-sm text-slate-500">
          You were invited to a Switchyard organisation.
        </p>
        <InviteAccept token={token} />
      </div>
    </main>
  );
}
