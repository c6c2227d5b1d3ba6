import { RequestsView } from "../../../components/requests-view";

export default function RequestsPage() {
  return <RequestsView />;
}
