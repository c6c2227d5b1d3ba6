import { OrgView } from "../../../components/org-view";

export default function MembersPage() {
  return <OrgView />;
}
