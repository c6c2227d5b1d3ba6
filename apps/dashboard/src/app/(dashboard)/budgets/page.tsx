import { BudgetsView } from "../../../components/budgets-view";

export default function BudgetsPage() {
  return <BudgetsView />;
}
