import { ProvidersView } from "../../../components/providers-view";

export default function ProvidersPage() {
  return <ProvidersView />;
}
