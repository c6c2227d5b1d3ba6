import { RequestDetailView } from "../../../../components/request-detail-view";

/** The route segment arrives percent-encoded or not depending on the path taken; decode once, safely. */
function decodedId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export default async function RequestPage({ params }: { params: Promise<{ requestId: string }> }) {
  const { requestId } = await params;
  return <RequestDetailView requestId={decodedId(requestId)} />;
}
