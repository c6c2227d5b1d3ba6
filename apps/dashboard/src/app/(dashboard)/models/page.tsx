import { ModelsView } from "../../../components/models-view";

export default function ModelsPage() {
  return <ModelsView />;
}
