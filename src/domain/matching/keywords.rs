//! Keywords: how a wish's keyword is found in an offer's words, and the 64-bit masks the wish
//! index screens with, so that an offer rarely meets a wish whose keywords it cannot contain.

/// How many leading characters of a word the index keys on.
const KEY_CHARS: usize = 4;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether `keyword` occurs in `words` at the start of a word, ignoring case: "deur" finds
/// "deuren", "eiken deur" finds "eiken deuren", "hout" does not find "eikenhouten".
///
/// The keyword is trimmed and lower-cased here; `words` must already be lower-case (see
/// [`super::Offer::words_of`]). A blank keyword is found in anything.
pub(crate) fn keyword_found(keyword: &str, words: &str) -> bool {
    let keyword = keyword.trim();
    if keyword.is_empty() {
        return true;
    }
    let mut after_word_char = false;
    for (at, c) in words.char_indices() {
        let word_char = is_word_char(c);
        if word_char && !after_word_char && starts_with_lowercased(&words[at..], keyword) {
            return true;
        }
        after_word_char = word_char;
    }
    false
}

fn starts_with_lowercased(text: &str, keyword: &str) -> bool {
    let mut text = text.chars();
    keyword
        .chars()
        .flat_map(char::to_lowercase)
        .all(|k| text.next() == Some(k))
}

/// FNV-1a over characters: keys only need to spread, and a collision only sets a bit that
/// another key sets too, which the exact check sorts out.
fn step(hash: u64, c: char) -> u64 {
    (hash ^ u64::from(u32::from(c))).wrapping_mul(0x0000_0100_0000_01b3)
}

const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The bit of a 64-bit set that stands for `key`: the top six bits of a multiplicative hash.
fn bit(key: u64) -> u64 {
    1 << (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// The key of one keyword: the first [`KEY_CHARS`] characters of its leading word, lower-cased.
/// `None` when it does not start with a word character.
fn keyword_key(keyword: &str) -> Option<u64> {
    let mut hash = BASIS;
    let mut len = 0;
    for c in keyword
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .take_while(|&c| is_word_char(c))
        .take(KEY_CHARS)
    {
        hash = step(hash, c);
        len += 1;
    }
    (len > 0).then_some(hash)
}

/// The set of bits a wish's keywords require of an offer: one per keyword that has a key. An
/// offer must contain every keyword, so each of these bits is in its [`offer_mask`].
pub(crate) fn wish_mask(keywords: &[String]) -> u64 {
    keywords
        .iter()
        .filter_map(|keyword| keyword_key(keyword))
        .fold(0, |mask, key| mask | bit(key))
}

/// The bits of every key that a keyword found in `words` can have: those of the first one to
/// [`KEY_CHARS`] characters of each word.
///
/// Why this is enough: if a keyword is found at the start of a word, its leading word (lower
/// case) is a prefix of that word, and so are its first [`KEY_CHARS`] characters.
pub(crate) fn offer_mask(words: &str) -> u64 {
    let mut mask = 0;
    let mut hash = BASIS;
    let mut len = 0;
    for c in words.chars() {
        if is_word_char(c) {
            if len < KEY_CHARS {
                hash = step(hash, c);
                len += 1;
                mask |= bit(hash);
            }
        } else {
            hash = BASIS;
            len = 0;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_found_at_word_starts_ignoring_case() {
        let words = "eikenhouten binnendeuren, 83 cm (eiken deuren)";
        assert!(keyword_found("Eiken", words));
        assert!(keyword_found("binnendeur", words));
        assert!(keyword_found("eiken deur", words));
        assert!(keyword_found("  83 ", words));
        assert!(keyword_found("", words));
        assert!(!keyword_found("houten", words), "not inside a word");
        assert!(!keyword_found("deuren)x", words));
        assert!(!keyword_found("grenen", words));
        assert!(keyword_found("ÉÉN", "één deur"));
    }

    #[test]
    fn a_found_keyword_always_has_its_bit_in_the_offers_mask() {
        let words = "eikenhouten binnendeuren, 83 cm (eiken deuren) één";
        let mask = offer_mask(words);
        for keyword in ["Eiken", "binnendeur", "eiken deur", "83", "e", "ÉÉN"] {
            assert!(keyword_found(keyword, words));
            let wanted = wish_mask(&[keyword.to_string()]);
            assert_ne!(wanted, 0, "{keyword}");
            assert_eq!(wanted & !mask, 0, "{keyword}");
        }
        assert_eq!(wish_mask(&[]), 0);
        assert_eq!(wish_mask(&["-".into(), " ".into()]), 0, "no key, no bit");
        assert_eq!(
            wish_mask(&["eikenhout".into()]),
            wish_mask(&["eike".into()]),
            "four characters make the key"
        );
        assert_ne!(
            offer_mask("grenen planken") & wish_mask(&["eiken".into()]),
            wish_mask(&["eiken".into()]),
            "a word the offer lacks is screened out"
        );
    }
}
