"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../trpc/react";
import { OptionSelect } from "./form-bits";

/** The organisation an org-level page shows: the only one, or the one picked. */
export function useOrgChoice() {
  const trpc = useTRPC();
  const orgs = useQuery(trpc.orgs.list.queryOptions());
  const [picked, setPicked] = useState("");
  const list = orgs.data ?? [];
  const orgId = picked || list[0]?.id || "";
  return { orgs, list, orgId, setPicked };
}

/** The organisation picker of a page header; shown only to people in several organisations. */
export function OrgPicker({
  choice,
  testId,
}: {
  choice: ReturnType<typeof useOrgChoice>;
  testId: string;
}) {
  if (choice.list.length <= 1) return null;
  return (
    <OptionSelect
      value={choice.orgId}
      onChange={choice.setPicked}
      options={choice.list.map((o) => ({ value: o.id, label: o.name }))}
      testId={testId}
    />
  );
}
