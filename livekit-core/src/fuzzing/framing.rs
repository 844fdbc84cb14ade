//! Splitting one fuzz input into a sequence of messages, so that a target sees state carried
//! from one message to the next (a join, then updates that refer to it).

/// The messages in `data`: each is a little-endian u16 length and that many bytes; a last
/// message shorter than its length is cut to what is there.
pub fn length_prefixed(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let message = &rest[2..2 + len];
        rest = &rest[2 + len..];
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_length_and_cuts_the_last_one_short() {
        let data = [2, 0, b'a', b'b', 0, 0, 5, 0, b'c'];
        let messages: Vec<&[u8]> = length_prefixed(&data).collect();
        assert_eq!(messages, vec![&b"ab"[..], &b""[..], &b"c"[..]]);
        assert_eq!(length_prefixed(&[7]).count(), 0);
    }
}
