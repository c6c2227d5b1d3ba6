import { AnalyticsView } from "../../../components/analytics-view";

export default function AnalyticsPage() {
  return <AnalyticsView />;
}
