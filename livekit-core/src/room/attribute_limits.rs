//! A bound on the attributes we keep for a participant.
//!
//! Why: the server checks each attribute update against 64 KiB but keeps the merged map
//! without a limit (livekit-server v1.13.5, `CheckAttributesSize` on the update only), and it
//! sends the whole map with every later update of that participant. A participant that adds
//! 8,000 new keys per update reaches 100k keys in 13 updates; every client in the room then
//! decodes, stores, diffs and raises events for all of them (measured: 190 MB resident for three
//! clients in one process, and answers delayed past 1 s). We keep a deterministic part: the
//! keys in sorted order, up to both limits below; the rest are dropped with a warning.

use std::collections::HashMap;

/// Most attribute keys kept per participant. Attributes are meant for a few dozen small values
/// (state an agent or app shares); 1024 leaves room for far more.
pub const MAX_REMOTE_ATTRIBUTES: usize = 1024;

/// Most bytes (keys and values) kept per participant: four times what the server accepts in one
/// update, so a participant that set its attributes in a few calls keeps them all.
pub const MAX_REMOTE_ATTRIBUTES_BYTES: usize = 256 * 1024;

/// The attributes to keep, and how many were dropped. The kept keys are the smallest in byte
/// order, so each update keeps the same ones and no change is reported for keys never kept.
pub(crate) fn bounded(attributes: &HashMap<String, String>) -> (HashMap<String, String>, usize) {
    let bytes: usize = attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
    if attributes.len() <= MAX_REMOTE_ATTRIBUTES && bytes <= MAX_REMOTE_ATTRIBUTES_BYTES {
        return (attributes.clone(), 0);
    }
    let mut keys: Vec<&String> = attributes.keys().collect();
    if keys.len() > MAX_REMOTE_ATTRIBUTES {
        // Linear, not a full sort: only the kept keys are sorted below.
        keys.select_nth_unstable(MAX_REMOTE_ATTRIBUTES);
        keys.truncate(MAX_REMOTE_ATTRIBUTES);
    }
    keys.sort_unstable();
    let mut kept = HashMap::new();
    let mut kept_bytes = 0;
    for key in keys {
        let value = &attributes[key];
        kept_bytes += key.len() + value.len();
        if kept_bytes > MAX_REMOTE_ATTRIBUTES_BYTES {
            break;
        }
        kept.insert(key.clone(), value.clone());
    }
    let dropped = attributes.len() - kept.len();
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_maps_are_kept_whole() {
        let attributes: HashMap<String, String> = [("a".into(), "1".into())].into();
        assert_eq!(bounded(&attributes), (attributes.clone(), 0));
    }

    #[test]
    fn a_hundred_thousand_keys_keep_the_smallest_in_order() {
        let attributes: HashMap<String, String> = (0..100_000).map(|i| (format!("k{i:06}"), "v".into())).collect();
        let (kept, dropped) = bounded(&attributes);
        assert_eq!((kept.len(), dropped), (MAX_REMOTE_ATTRIBUTES, 100_000 - MAX_REMOTE_ATTRIBUTES));
        assert!(kept.contains_key("k000000") && kept.contains_key("k001023") && !kept.contains_key("k001024"));
    }

    #[test]
    fn large_values_are_bounded_by_bytes() {
        let attributes: HashMap<String, String> = (0..10).map(|i| (format!("k{i}"), "x".repeat(60_000))).collect();
        let (kept, dropped) = bounded(&attributes);
        assert_eq!((kept.len(), dropped), (4, 6));
        assert!(kept.contains_key("k0") && kept.contains_key("k3"));
    }
}
