//! Reading a name into words: case, accents and punctuation folded, company forms made
//! canonical, honorifics dropped, the connector (`bin`, `a/l`, …) found. The rules are in the
//! parent module's documentation.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::MAX_NAME_CHARS;

/// The whole name, and each of its names when it has an alias: on a MyKad, `@` reads "also
/// known as" (`LIM AH KOW @ LIM KOK WAH`), and either name is the holder's.
pub(super) fn alternatives(name: &str) -> Vec<ParsedName> {
    let mut names = vec![ParsedName::parse(name)];
    if name.contains('@') {
        names.extend(
            name.split('@')
                .map(ParsedName::parse)
                .filter(|n| !n.tokens.is_empty()),
        );
    }
    names
}

/// A name after normalisation: its tokens in order, each marked when it follows a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParsedName {
    pub(super) tokens: Vec<Token>,
    pub(super) has_connector: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) text: String,
    /// After a connector: part of the father's name.
    pub(super) parent: bool,
}

const SLASH_CONNECTORS: &[&str] = &["a/l", "a/p", "s/o", "d/o", "w/o"];
/// Never the first word (a name does not start with "son of").
const LONG_CONNECTORS: &[&str] = &["bin", "binti", "binte", "bint", "ibni", "anak"];
/// Short enough to be an initial or a surname: only between two words of a person's name.
const SHORT_CONNECTORS: &[&str] = &["b", "bt", "bte", "ak"];

const HONORIFICS: &[&str] = &[
    "encik",
    "en",
    "cik",
    "puan",
    "pn",
    "tuan",
    "tn",
    "mr",
    "mrs",
    "ms",
    "miss",
    "mdm",
    "madam",
    "sir",
    "dr",
    "doctor",
    "prof",
    "professor",
    "ir",
    "tun",
    "dato",
    "datuk",
    "datin",
    "yb",
    "ybhg",
    "yab",
    "yabhg",
    "ym",
    "yam",
    "ytm",
];
/// Words of a title that are names too: stripped only right after another title word.
const TITLE_CONTINUATIONS: &[&str] = &[
    "sri",
    "seri",
    "paduka",
    "wira",
    "amar",
    "setia",
    "utama",
    "panglima",
    "patinggi",
    "berbahagia",
    "berhormat",
    "amat",
    "mulia",
    "teramat",
];
/// Pilgrim titles, written before one's own name or one's father's.
const HAJI: &[&str] = &["haji", "hajah", "hj", "hjh"];

/// Company forms, longest first: (words, canonical token).
const COMPANY_FORMS: &[(&[&str], &str)] = &[
    (&["perkongsian", "liabiliti", "terhad"], "plt"),
    (&["sendirian", "berhad"], "sdnbhd"),
    (&["sendirian", "bhd"], "sdnbhd"),
    (&["sdn", "berhad"], "sdnbhd"),
    (&["sdn", "bhd"], "sdnbhd"),
    (&["s/b"], "sdnbhd"),
    (&["berhad"], "bhd"),
    (&["bhd"], "bhd"),
    (&["plt"], "plt"),
    (&["llp"], "llp"),
    (&["enterprise"], "ent"),
    (&["enterprises"], "ent"),
    (&["ent"], "ent"),
    (&["limited"], "ltd"),
    (&["ltd"], "ltd"),
    (&["corporation"], "corp"),
    (&["company"], "co"),
    (&["incorporated"], "inc"),
];
const LEGAL_FORMS: &[&str] = &[
    "sdnbhd", "bhd", "plt", "llp", "ent", "ltd", "corp", "co", "inc",
];

/// Spellings and abbreviations of one name. Banks hold the identity card's spelling; people
/// write the one they use, so these are close but not exact.
pub(super) const SAME_NAME: &[&[&str]] = &[
    &[
        "muhammad", "muhamad", "muhammed", "muhamed", "mohammad", "mohamad", "mohammed", "mohamed",
        "mohd", "muhd", "mhd", "md",
    ],
    &["abdul", "abd"],
    &["nur", "noor", "nor"],
    &["syed", "sayed", "syd"],
    &["sharifah", "syarifah", "sharipah"],
];

impl ParsedName {
    pub(super) fn parse(name: &str) -> ParsedName {
        let words = canonical_company_forms(split_words(name));
        let is_company = words.iter().any(|w| LEGAL_FORMS.contains(&w.as_str()));
        let words = strip_honorifics(words);

        let mut tokens = Vec::with_capacity(words.len());
        let mut has_connector = false;
        for (i, word) in words.iter().enumerate() {
            let between_words =
                i > 0 && i + 1 < words.len() && words[i - 1].chars().count() > 1 && !is_company;
            let connector = SLASH_CONNECTORS.contains(&word.as_str())
                || (i > 0 && LONG_CONNECTORS.contains(&word.as_str()))
                || (between_words && SHORT_CONNECTORS.contains(&word.as_str()));
            if connector {
                has_connector = true;
                continue;
            }
            // "(M)" before a company form is the usual short form of "(Malaysia)".
            let text = if is_company
                && word == "m"
                && words
                    .get(i + 1)
                    .is_some_and(|next| LEGAL_FORMS.contains(&next.as_str()))
            {
                "malaysia".to_owned()
            } else {
                word.clone()
            };
            tokens.push(Token {
                text,
                parent: has_connector,
            });
        }
        ParsedName {
            tokens,
            has_connector,
        }
    }
}

/// Step 1 of the module doc: folded, lower-case words; slash forms kept whole.
fn split_words(name: &str) -> Vec<String> {
    let mut text = String::with_capacity(name.len());
    let mut after_slash = false;
    let folded = name
        .chars()
        .take(MAX_NAME_CHARS)
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase);
    for c in folded {
        match c {
            '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' => {}
            '/' => {
                text.truncate(text.trim_end().len());
                text.push('/');
                after_slash = true;
            }
            '&' => {
                text.push_str(" and ");
                after_slash = false;
            }
            c if c.is_alphanumeric() => {
                text.push(c);
                after_slash = false;
            }
            _ if after_slash => {}
            _ => text.push(' '),
        }
    }
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        if !word.contains('/') || SLASH_CONNECTORS.contains(&word) || word == "s/b" {
            words.push(word.to_owned());
        } else {
            words.extend(
                word.split('/')
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    words
}

fn canonical_company_forms(words: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    'words: while i < words.len() {
        for &(form, canonical) in COMPANY_FORMS {
            if words[i..].starts_with_strs(form) {
                out.push(canonical.to_owned());
                i += form.len();
                continue 'words;
            }
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

trait StartsWithStrs {
    fn starts_with_strs(&self, prefix: &[&str]) -> bool;
}

impl StartsWithStrs for [String] {
    fn starts_with_strs(&self, prefix: &[&str]) -> bool {
        self.len() >= prefix.len() && self.iter().zip(prefix).all(|(w, p)| w == p)
    }
}

/// Step 3 of the module doc.
fn strip_honorifics(words: Vec<String>) -> Vec<String> {
    let mut start = 0;
    let mut after_title = false;
    while let Some(word) = words.get(start) {
        let next = words.get(start + 1).map(String::as_str);
        let word = word.as_str();
        let title = match word {
            // Surname, or the first half of "Tan Sri".
            "tan" => matches!(next, Some("sri" | "seri")),
            // Malay "Toh Puan" only; "Toh" alone is a Chinese surname.
            "toh" => next == Some("puan"),
            // "Yang Berbahagia", "Yang Amat Berhormat", "Yang Mulia" ...
            "yang" => next.is_some_and(|n| TITLE_CONTINUATIONS.contains(&n)),
            _ => {
                HONORIFICS.contains(&word)
                    || HAJI.contains(&word)
                    || (after_title && TITLE_CONTINUATIONS.contains(&word))
            }
        };
        if !title {
            break;
        }
        after_title = true;
        start += 1;
    }
    words
        .into_iter()
        .skip(start)
        .filter(|w| !HAJI.contains(&w.as_str()))
        .collect()
}
