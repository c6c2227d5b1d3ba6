import type { UsageEvent } from "@switchyard/contracts";
import type { TouchedScopes } from "./budgets";
import { checkBudgets, type BudgetCheckDeps, type BudgetCheckResult } from "./check";

export interface BudgetLoopOptions extends BudgetCheckDeps {
  /** Full pass over every budget this often (and once at start). */
  intervalMs: number;
}

export interface BudgetLoop {
  /** Schedules a check of the budgets on the scopes of freshly committed usage. */
  usageCommitted(events: readonly UsageEvent[]): void;
  /** Runs a full pass now (after whatever is running) and resolves with its result. */
  runNow(): Promise<BudgetCheckResult>;
  /** Stops scheduling and waits for the pass in progress. */
  stop(): Promise<void>;
}

interface MutableScopes {
  orgIds: Set<string>;
  teamIds: Set<string>;
  virtualKeyIds: Set<string>;
}

const emptyScopes = (): MutableScopes => ({
  orgIds: new Set(),
  teamIds: new Set(),
  virtualKeyIds: new Set(),
});

/**
 * Runs budget checks one at a time: a full pass every `intervalMs`, and a targeted
 * pass after usage batches commit. Touched scopes that arrive while a pass runs are
 * merged into the next one, so a burst of batches costs one extra pass, not one each.
 */
export function startBudgetLoop(opts: BudgetLoopOptions): BudgetLoop {
  const { intervalMs, ...deps } = opts;
  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pending: MutableScopes | undefined;

  const enqueue = <T>(run: () => Promise<T>): Promise<T> => {
    const next = chain.then(run);
    chain = next.catch(() => undefined);
    return next;
  };

  const fullPass = (): Promise<BudgetCheckResult> =>
    enqueue(async () => {
      const r = await checkBudgets(deps);
      deps.logger?.debug({ ...r }, "budget pass done");
      return r;
    });

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      fullPass()
        .catch((err: unknown) =>
          deps.logger?.error(
            { err: err instanceof Error ? err.message : String(err) },
            "budget pass failed",
          ),
        )
        .finally(schedule);
    }, intervalMs);
  };

  const targetedPass = (): void => {
    void enqueue(async () => {
      const scopes: TouchedScopes | undefined = pending;
      pending = undefined;
      if (!scopes || stopped) return;
      await checkBudgets(deps, scopes);
    }).catch((err: unknown) =>
      deps.logger?.error(
        { err: err instanceof Error ? err.message : String(err) },
        "budget check after usage failed",
      ),
    );
  };

  // First pass right away: after a Redis restart the counters come back without waiting.
  void fullPass()
    .catch((err: unknown) =>
      deps.logger?.error(
        { err: err instanceof Error ? err.message : String(err) },
        "budget pass failed",
      ),
    )
    .finally(schedule);

  return {
    usageCommitted(events) {
      if (stopped || events.length === 0) return;
      const first = pending === undefined;
      pending ??= emptyScopes();
      for (const e of events) {
        pending.orgIds.add(e.orgId);
        pending.teamIds.add(e.teamId);
        pending.virtualKeyIds.add(e.virtualKeyId);
      }
      if (first) targetedPass();
    },
    runNow: fullPass,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
  };
}
