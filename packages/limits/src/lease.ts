/**
 * Leases: a replica takes a slice of a key's rate-limit and budget headroom in one
 * admit call (counted in Redis at once, so all replicas together can never admit more
 * than a limit), then admits the requests of that key against the slice with no Redis
 * round trip on their path.
 *
 * What keeps the totals exact:
 * - A lease counts its `size` requests and `size × estimate` tokens in the RPM and TPM
 *   windows' bucket of ONE second, and is used only during that second: every request it
 *   admits is in the bucket it was counted in, so no 60-s window ever holds more than the
 *   limit. When the second ends (a timer), or the lease is used up or replaced, what it
 *   did not use leaves that bucket again (`adjustWindows` with a negative count).
 * - Its money is one budget reservation (id `lease:<uuid>`) of `size × worst case`.
 *   Requests take their worst case from it and give back the difference to their actual
 *   cost when they finish. When the lease retires, the reservation shrinks to the worst
 *   cases of its requests still running and the finished ones' costs are spent (a trim);
 *   each later one trims its own when it finishes, and the last settles the reservation.
 *   So a finished request's cost reaches Redis at most about a second after it finished
 *   (never held back by a long stream of the same lease), and the worker, which raises
 *   Redis's spent to what Postgres recorded, leaves the last seconds' rows to these
 *   settles. A crashed replica's reservations expire after their TTL as any do.
 * - TPM corrections (actual − estimated tokens) of its requests are summed and sent when
 *   it retires (or with its settle, once its last request finishes). Admission counts
 *   estimates, as an admit of its own does; the corrections reach the window up to a
 *   second later than they would without the lease, so a lease's token share is sized by
 *   what a request of the key has used beyond its estimate lately, not by the estimate alone.
 *
 * What changes against one admit per request: headroom a replica holds and has not used
 * is counted as used for at most a second (a reservation: as long as the lease's last
 * request runs), so another replica can refuse early by at most the slices outstanding.
 * Slices are kept small against what is left: a lease asks for at most 1/`headroomShare`
 * of the smallest headroom Redis last reported (requests, tokens, money), and below two
 * requests' worth the request is admitted on its own (`size` returns 1): near a limit
 * every request is decided by Redis, exactly as without leases. A lease's size follows
 * demand: it doubles each time one is used up, and starts the next second from what the
 * last one used.
 */
import { randomUUID } from "node:crypto";
import { type BudgetRef, type BudgetTarget, MAX_NANO_USD } from "./budget";
import type { KeyOptions } from "./keys";
import type { RateLimitResult, RateLimitScope } from "./rate-limit";
import { adjustWindows, admitLimits, type AdmitLimitsResult, settleLimits, trimReservation } from "./request";
import type { LimitsRedis } from "./script";

/** What one request needs, as the caller worked it out for an admit of its own. */
export interface LeaseDemand {
  scopes: readonly RateLimitScope[];
  budgets: readonly BudgetRef[];
  estimatedTokens: number;
  amountNanoUsd: bigint;
  nowMs: number;
}

/** A request admitted against a lease: hand it back to `finish` once. */
export interface LeaseTicket {
  readonly lease: Lease;
  readonly estimatedTokens: number;
  readonly amountNanoUsd: bigint;
  /** The rate answer to tell the client: remaining counts include what the lease still holds. */
  readonly rate: RateLimitResult;
}

export interface LeaseOptions extends KeyOptions {
  /** Largest lease, in requests. Default 512. */
  maxSize?: number;
  /** A lease takes at most 1/headroomShare of the headroom left. Default 64. */
  headroomShare?: number;
  /** Every Redis call made in the background (returns, settles), to wait on and count failures. */
  track: (op: "settle", p: Promise<unknown>) => void;
}

class Lease {
  reqsLeft: number;
  tokensLeft: number;
  /** Money neither held by a running request nor spent: size × worst case to start with. */
  moneyFree: bigint;
  /** What the reservation holds in Redis now (size × worst case, until a trim). */
  reservedNanoUsd: bigint;
  /** The worst cases of its requests still running. */
  held = 0n;
  /** The recorded costs of its finished requests not yet in Redis. */
  spent = 0n;
  inFlight = 0;
  /** Summed TPM corrections of the requests that finished while it was current. */
  tokenDelta = 0;
  used = 0;
  retired = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly holder: Holder,
    readonly signature: unknown,
    readonly second: number,
    readonly size: number,
    tokens: number,
    amount: bigint,
    readonly rpmScopes: readonly RateLimitScope[],
    readonly tpmScopes: readonly RateLimitScope[],
    readonly reservation: { reservationId: string; budgets: BudgetTarget[] } | null,
    readonly granted: RateLimitResult,
  ) {
    this.reqsLeft = size;
    this.tokensLeft = tokens;
    this.moneyFree = amount;
    this.reservedNanoUsd = amount;
  }
}

export type { Lease };

interface Holder {
  id: string;
  lease: Lease | null;
  /** A lease being asked for: requests that find none wait for it instead of asking too. */
  pending: Promise<boolean> | null;
  /** What Redis last said is left (after what it granted); null = no such limit. */
  known: boolean;
  signature: unknown;
  freeRequests: number | null;
  freeTokens: number | null;
  freeNanoUsd: bigint | null;
  /** The size the next lease asks for, before the headroom caps it. */
  next: number;
  /** Tokens a request used beyond its estimate, on average (a moving one) over its recent requests. */
  tokensBeyondEstimate: number;
}

const MIN_LEASE = 2;

export class LimitLeases {
  private readonly holders = new Map<string, Holder>();
  private readonly maxSize: number;
  private readonly share: number;

  constructor(
    private readonly redis: LimitsRedis,
    private readonly opts: LeaseOptions,
  ) {
    this.maxSize = opts.maxSize ?? 512;
    this.share = opts.headroomShare ?? 64;
  }

  /**
   * Admits the request against the holder's current lease, synchronously; null when
   * there is none it fits in (none, another second's, another configuration's, used up).
   * `signature` names the configuration the limits came from: a lease serves only it.
   */
  take(holderId: string, signature: unknown, d: LeaseDemand): LeaseTicket | null {
    const h = this.holders.get(holderId);
    const l = h?.lease;
    if (!l) return null;
    if (l.signature !== signature || l.second !== Math.floor(d.nowMs / 1000)) {
      this.retire(l);
      return null;
    }
    const countsTokens = l.tpmScopes.length > 0;
    if (countsTokens && d.estimatedTokens > l.tokensLeft) return null;
    if (l.reservation && d.amountNanoUsd > l.moneyFree) return null;
    l.reqsLeft--;
    if (countsTokens) l.tokensLeft -= d.estimatedTokens;
    if (l.reservation) {
      l.moneyFree -= d.amountNanoUsd;
      l.held += d.amountNanoUsd;
    }
    l.inFlight++;
    l.used++;
    const g = l.granted;
    const rate: RateLimitResult = {
      allowed: true,
      retryAfterSeconds: 0,
      remainingRequests: g.remainingRequests === null ? null : g.remainingRequests + l.reqsLeft,
      resetRequestsSeconds: g.resetRequestsSeconds,
      remainingTokens: g.remainingTokens === null ? null : g.remainingTokens + l.tokensLeft,
      resetTokensSeconds: g.resetTokensSeconds,
    };
    if (l.reqsLeft === 0) {
      l.holder.next = Math.min(this.maxSize, l.size * 2);
      this.retire(l);
    }
    return { lease: l, estimatedTokens: d.estimatedTokens, amountNanoUsd: d.amountNanoUsd, rate };
  }

  /**
   * How many requests a lease for this request should hold: 1 means admit it on its own
   * (no lease: nothing known about the holder yet, or too little headroom left to share).
   */
  size(holderId: string, signature: unknown, d: LeaseDemand): number {
    const h = this.holders.get(holderId);
    if (!h || !h.known || h.signature !== signature) return 1;
    let n = h.next;
    if (h.freeRequests !== null) n = Math.min(n, Math.floor(h.freeRequests / this.share));
    // Tokens as a request uses them: its estimate and what the provider reported beyond it
    // (output, mostly), which reaches the window only when the lease retires.
    if (h.freeTokens !== null) {
      const perRequest = d.estimatedTokens + h.tokensBeyondEstimate;
      if (perRequest > 0) n = Math.min(n, Math.floor(h.freeTokens / this.share / perRequest));
    }
    if (d.amountNanoUsd > 0n) {
      if (h.freeNanoUsd !== null) n = Math.min(n, Number(h.freeNanoUsd / (BigInt(this.share) * d.amountNanoUsd)));
      n = Math.min(n, Number(MAX_NANO_USD / d.amountNanoUsd));
    }
    return n >= MIN_LEASE ? n : 1;
  }

  /**
   * Asks Redis for a lease of `size` requests (waiting for one already being asked for
   * instead, when there is one) and admits the request against it. null when Redis
   * refused the lease: the request is then to be admitted on its own, which decides it
   * exactly. Rejects when Redis cannot be reached, as an admit does.
   */
  async acquire(holderId: string, signature: unknown, d: LeaseDemand, size: number): Promise<LeaseTicket | null> {
    const h = this.holder(holderId);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (h.pending) {
        await h.pending;
        const t = this.take(holderId, signature, d);
        if (t) return t;
        // Refused, or taken by the others waiting: ask for the next only if there is still room for one.
        size = this.size(holderId, signature, d);
        if (size <= 1) return null;
        continue;
      }
      const p = this.grant(h, signature, d, size);
      h.pending = p;
      let granted: boolean;
      try {
        granted = await p;
      } finally {
        h.pending = null;
      }
      if (!granted) return null;
      const t = this.take(holderId, signature, d);
      if (t) return t;
    }
    return null;
  }

  /** What an admit of a request on its own answered: the headroom to size the next lease by. */
  learn(holderId: string, signature: unknown, result: AdmitLimitsResult): void {
    this.note(this.holder(holderId), signature, result);
  }

  /** The request is over: its actual cost and its TPM correction (actual − still-counted estimate). */
  finish(ticket: LeaseTicket, actualNanoUsd: bigint, tokenDelta: number): void {
    const l = ticket.lease;
    l.inFlight--;
    if (l.reservation) {
      l.held -= ticket.amountNanoUsd;
      if (!l.retired) l.moneyFree += ticket.amountNanoUsd - actualNanoUsd;
    }
    if (l.retired && l.inFlight > 0) {
      // Others still run: this one's worst case leaves the reservation and its cost is spent now.
      this.trim(l, ticket.amountNanoUsd, actualNanoUsd);
    } else {
      l.spent += actualNanoUsd;
    }
    if (l.tpmScopes.length > 0) {
      const h = l.holder;
      h.tokensBeyondEstimate += (Math.max(0, tokenDelta) - h.tokensBeyondEstimate) / 8;
    }
    // The corrections wait for the lease to retire (or, once it has, for its last request),
    // unless other requests of a retired lease still run: then this one's goes now.
    if (tokenDelta !== 0) {
      if (l.retired && l.inFlight > 0) this.adjust(l.tpmScopes, "tpm", tokenDelta, Math.floor(Date.now() / 1000));
      else l.tokenDelta += tokenDelta;
    }
    if (l.retired && l.inFlight === 0) this.close(l);
  }

  /** Retires every lease (shutdown): what they did not use goes back, and the idle ones settle. */
  retireAll(): void {
    for (const h of this.holders.values()) if (h.lease) this.retire(h.lease);
  }

  private holder(id: string): Holder {
    let h = this.holders.get(id);
    if (!h) {
      // Keys come and go; what is known about one is only a hint, so an overfull table is simply dropped.
      if (this.holders.size >= 50_000) for (const [k, v] of this.holders) if (!v.lease && !v.pending) this.holders.delete(k);
      h = { id, lease: null, pending: null, known: false, signature: undefined, freeRequests: null, freeTokens: null, freeNanoUsd: null, next: MIN_LEASE, tokensBeyondEstimate: 0 };
      this.holders.set(id, h);
    }
    return h;
  }

  private note(h: Holder, signature: unknown, r: AdmitLimitsResult): void {
    const refused = !r.rate.allowed || (r.reservation !== null && !r.reservation.ok);
    h.signature = signature;
    if (refused) {
      // Near a limit: every request on its own until Redis says there is room again.
      h.known = false;
      h.next = MIN_LEASE;
      return;
    }
    h.known = true;
    h.freeRequests = r.rate.remainingRequests;
    h.freeTokens = r.rate.remainingTokens;
    h.freeNanoUsd = r.reservation?.ok ? r.reservation.freeNanoUsd : null;
  }

  private async grant(h: Holder, signature: unknown, d: LeaseDemand, size: number): Promise<boolean> {
    const reservationId = `lease:${randomUUID()}`;
    const tokens = d.estimatedTokens * size;
    const amount = d.amountNanoUsd * BigInt(size);
    const r = await admitLimits(
      this.redis,
      { scopes: d.scopes, estimatedTokens: tokens, budgets: d.budgets, amountNanoUsd: amount, reservationId, nowMs: d.nowMs, requests: size },
      { prefix: this.opts.prefix },
    );
    this.note(h, signature, r);
    if (!r.rate.allowed || (r.reservation !== null && !r.reservation.ok)) return false;
    if (h.lease) this.retire(h.lease);
    const rpmScopes = d.scopes.filter((s) => s.rpm !== null && s.rpm !== undefined);
    const tpmScopes = d.scopes.filter((s) => s.tpm !== null && s.tpm !== undefined);
    const reservation = r.reservation?.ok ? { reservationId, budgets: r.reservation.budgets } : null;
    const second = Math.floor(d.nowMs / 1000);
    const l = new Lease(h, signature, second, size, tokens, amount, rpmScopes, tpmScopes, reservation, r.rate);
    h.lease = l;
    // Retired when its second is over (a few ms after, so a request of that second finds it still).
    l.timer = setTimeout(() => this.retire(l), Math.max(0, (second + 1) * 1000 - Date.now()) + 5);
    l.timer.unref();
    return true;
  }

  private retire(l: Lease): void {
    if (l.retired) return;
    l.retired = true;
    if (l.timer) clearTimeout(l.timer);
    const h = l.holder;
    if (h.lease === l) {
      h.lease = null;
      // Used up: twice as much next time (set by take); retired by its second's end: what it used, twice.
      if (l.reqsLeft > 0) h.next = Math.min(this.maxSize, Math.max(MIN_LEASE, l.used * 2));
    }
    // What it counted and did not use leaves its second's bucket; the corrections land now.
    if (l.reqsLeft > 0) this.adjust(l.rpmScopes, "rpm", -l.reqsLeft, l.second);
    if (l.tokensLeft > 0) this.adjust(l.tpmScopes, "tpm", -l.tokensLeft, l.second);
    if (l.tokenDelta !== 0) this.adjust(l.tpmScopes, "tpm", l.tokenDelta, Math.floor(Date.now() / 1000));
    l.reqsLeft = 0;
    l.tokensLeft = 0;
    l.tokenDelta = 0;
    if (l.inFlight === 0) this.close(l);
    // Requests still run (a long stream, say): what they do not hold goes back, and the
    // finished ones' cost is spent now, not when the last of them ends.
    else {
      this.trim(l, l.reservedNanoUsd - l.held, l.spent);
      l.spent = 0n;
    }
  }

  private trim(l: Lease, releaseNanoUsd: bigint, spendNanoUsd: bigint): void {
    if (!l.reservation) return;
    const release = releaseNanoUsd > l.reservedNanoUsd ? l.reservedNanoUsd : releaseNanoUsd;
    l.reservedNanoUsd -= release;
    if (release === 0n && spendNanoUsd === 0n) return;
    const spend = spendNanoUsd > MAX_NANO_USD ? MAX_NANO_USD : spendNanoUsd;
    this.opts.track("settle", trimReservation(this.redis, l.reservation, release, spend, { prefix: this.opts.prefix }));
  }

  /** Retired and nothing running: the last corrections land, and the reservation becomes what its requests cost. */
  private close(l: Lease): void {
    if (l.tokenDelta !== 0) this.adjust(l.tpmScopes, "tpm", l.tokenDelta, Math.floor(Date.now() / 1000));
    l.tokenDelta = 0;
    if (!l.reservation) return;
    const actual = l.spent > MAX_NANO_USD ? MAX_NANO_USD : l.spent;
    this.opts.track("settle", settleLimits(this.redis, { reservation: l.reservation, actualNanoUsd: actual, tpmScopes: [], tokenDelta: 0 }, { prefix: this.opts.prefix }));
  }

  private adjust(scopes: readonly RateLimitScope[], dimension: "rpm" | "tpm", delta: number, second: number): void {
    if (scopes.length === 0 || delta === 0) return;
    this.opts.track("settle", adjustWindows(this.redis, scopes, dimension, delta, second, { prefix: this.opts.prefix }));
  }
}
