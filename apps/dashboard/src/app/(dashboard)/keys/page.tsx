import { KeysView } from "../../../components/keys-view";

export default function KeysPage() {
  return <KeysView />;
}
