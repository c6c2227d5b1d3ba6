import { RoutesView } from "../../../components/routes-view";

export default function RoutesPage() {
  return <RoutesView />;
}
