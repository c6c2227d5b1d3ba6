import { HealthView } from "../../../components/health-view";

export default function HealthPage() {
  return <HealthView />;
}
