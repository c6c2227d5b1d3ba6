import { getAuth } from "../../../../server/auth";

// better-auth's handler, built on the first request (the env is not read at build time).
export function GET(request: Request): Promise<Response> {
  return getAuth().handler(request);
}

export function POST(request: Request): Promise<Response> {
  return getAuth().handler(request);
}
