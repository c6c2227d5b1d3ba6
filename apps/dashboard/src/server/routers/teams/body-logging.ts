/**
 * A team's prompt/response body logging (Team.bodyLogging): "off" keeps no bodies,
 * "redacted" keeps them with emails, card and phone numbers and secrets masked by the
 * proxy, "full" keeps them as sent.
 */
export const bodyLoggingModes = ["off", "redacted", "full"] as const;
export type BodyLoggingMode = (typeof bodyLoggingModes)[number];

/** Stored values outside the three modes (hand-edited rows) read as "off", the safe one. */
export function bodyLoggingOf(value: string): BodyLoggingMode {
  return (bodyLoggingModes as readonly string[]).includes(value)
    ? (value as BodyLoggingMode)
    : "off";
}
