//! Keywords: how a wish's keyword is found in an offer's words, and the keys the wish index
//! files wishes under so that an offer only meets wishes whose keywords it can contain.

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

/// FNV-1a over characters: keys only need to spread, and a collision only merges two keys'
/// candidate lists, which the exact check sorts out.
fn step(hash: u64, c: char) -> u64 {
    (hash ^ u64::from(u32::from(c))).wrapping_mul(0x0000_0100_0000_01b3)
}

const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The key a wish is filed under, if any: the first characters of the leading word of one of
/// its keywords (the one with the longest such word). Any one keyword will do, since an offer
/// must contain all of them; a wish without a usable keyword has no key and is met by every
/// offer of its category and cell.
pub(crate) fn wish_key(keywords: &[String]) -> Option<u64> {
    let mut best: Option<(usize, u64)> = None;
    for keyword in keywords {
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
        if len > 0 && best.is_none_or(|(longest, _)| len > longest) {
            best = Some((len, hash));
        }
    }
    best.map(|(_, hash)| hash)
}

/// Every key a wish that `words` can satisfy may be filed under: the keys of the first one to
/// [`KEY_CHARS`] characters of each word. Sorted, without repeats.
///
/// Why this is enough: if a keyword is found at the start of a word, its leading word (lower
/// case) is a prefix of that word, and so are its first [`KEY_CHARS`] characters.
pub(crate) fn offer_keys(words: &str) -> Vec<u64> {
    let mut keys = Vec::new();
    let mut hash = BASIS;
    let mut len = 0;
    for c in words.chars() {
        if is_word_char(c) {
            if len < KEY_CHARS {
                hash = step(hash, c);
                len += 1;
                keys.push(hash);
            }
        } else {
            hash = BASIS;
            len = 0;
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
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
    fn a_found_keyword_is_always_under_one_of_the_offers_keys() {
        let words = "eikenhouten binnendeuren, 83 cm (eiken deuren) één";
        let keys = offer_keys(words);
        for keyword in ["Eiken", "binnendeur", "eiken deur", "83", "e", "ÉÉN"] {
            assert!(keyword_found(keyword, words));
            let key = wish_key(&[keyword.to_string()]).unwrap();
            assert!(keys.binary_search(&key).is_ok(), "{keyword}");
        }
        assert_eq!(wish_key(&[]), None);
        assert_eq!(wish_key(&["-".into(), " ".into()]), None);
        assert_eq!(
            wish_key(&["ab".into(), "eiken".into()]),
            wish_key(&["eike".into()]),
            "the longest leading word is used"
        );
    }
}
