import { createContextForUser, type Context } from "./trpc";
import { getAuth } from "./auth";
import { getDb } from "./db";

/** The signed-in user of a request, from the better-auth session cookie (sessions live in Postgres). */
export async function getSessionUser(headers: Headers) {
  const session = await getAuth().api.getSession({ headers });
  if (!session) return null;
  return { id: session.user.id, email: session.user.email, name: session.user.name };
}

export async function createRequestContext(headers: Headers): Promise<Context> {
  return createContextForUser(getDb(), await getSessionUser(headers));
}
