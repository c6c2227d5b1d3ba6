/** Every Switchyard virtual key starts with this; anything else is not ours. */
export const VIRTUAL_KEY_PREFIX = "sk-sy-";
/** Characters of a key kept in clear (prefix + a few) so people can tell keys apart. */
export const VIRTUAL_KEY_VISIBLE_CHARS = 12;
/** Redis pub/sub channel on which config writers announce a change; proxies reload their snapshot. */
export const CONFIG_CHANGED_CHANNEL = "switchyard:config-changed";
