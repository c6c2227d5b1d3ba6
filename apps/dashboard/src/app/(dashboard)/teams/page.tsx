import { TeamsView } from "../../../components/teams-view";

export default function TeamsPage() {
  return <TeamsView />;
}
