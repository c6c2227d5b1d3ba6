import { PricesView } from "../../../components/prices-view";

export default function PricesPage() {
  return <PricesView />;
}
