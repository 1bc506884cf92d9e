//! Does the name a merchant gives match the name the bank holds for the account? Built for
//! Malaysian names, where the same person is written many ways and a bank record is upper-case,
//! often abbreviated, sometimes truncated.
//!
//! # Normalisation (both names, the same way)
//! 1. Accents and full-width forms folded (NFKD, combining marks dropped), lower case;
//!    apostrophes deleted (`Dato'` = `dato`, `D'Cruz` = `dcruz`), `&` read as `and`, every other
//!    punctuation mark and space a word break — except `/` in `a/l`, `a/p`, `s/o`, `d/o`, `w/o`
//!    and `s/b`, which are read whole (with or without spaces around the slash).
//! 2. Company forms canonicalised: `sdn bhd` = `sdn. bhd.` = `sendirian berhad` = `s/b`;
//!    `bhd` = `berhad`; `plt` = `perkongsian liabiliti terhad`; `ent` = `ent.` = `enterprise(s)`;
//!    `ltd` = `limited`, `corp` = `corporation`, `co` = `company`, `inc`, `llp`; in a company name
//!    an `(m)` just before the form is `malaysia`.
//! 3. Honorifics dropped from the front of the name (where titles are written): Encik, En, Cik,
//!    Puan, Pn, Tuan, Tn, Mr, Mrs, Ms, Miss, Mdm, Madam, Sir, Dr, Prof, Ir, Tun, Dato, Datuk, Datin,
//!    YB, YBhg, YAB, YM …; two-word titles only as a pair (`Tan Sri` — `Tan` alone is a surname —,
//!    `Puan Sri`, `Toh Puan`, `Yang Berbahagia`), and `Sri`/`Seri`/`Paduka`/`Wira`/… only right
//!    after a title. Haji, Hajah, Hj, Hjh are dropped anywhere (they also precede a father's name).
//! 4. Connectors: `bin`, `binti`, `binte`, `bint`, `ibni`, `anak` (not as the first word), `b`,
//!    `bt`, `bte`, `ak` (only between two words of a person's name, where they cannot be an initial
//!    or a surname), `a/l`, `a/p`, `s/o`, `d/o`, `w/o` are one and the same connector. It is not a
//!    token: it only marks that the words after it are the father's name.
//!
//! # Score (0.00–1.00, two decimals, rounded down)
//! Tokens are paired one to one, the most similar pair first. A pair's similarity, in hundredths:
//! 1.00 identical; 0.90 known spellings or abbreviations of one name (`MOHD` = `MUHAMMAD` =
//! `MOHAMAD` …, `ABD` = `ABDUL`, `NUR` = `NOOR` = `NOR`, `SYED` = `SAYED`, `SHARIFAH` =
//! `SYARIFAH`); 0.60 an initial and a word it begins (`M.` and `MUHAMMAD`); otherwise
//! `1 − typo distance / longer length` (Damerau–Levenshtein with adjacent swaps, so `AHAMD` is one
//! typo from `AHMAD`), and a pair under 0.60 is no pair at all. The score is the Dice coefficient
//! weighted by length: Σ similarity × (length a + length b) over the pairs, divided by the length
//! of both names — so it is symmetric, a long word counts more than a short one, and every word
//! either name has that the other lacks pulls the score down. A word left over on one side is an
//! omission (people shorten names); words left over on *both* sides of the same part (given name,
//! father's name) contradict each other (`NURUL AIN` is not her sister `NURUL HUDA`), and weigh
//! double.
//!
//! Word order: a Chinese name is written surname first or last (`TAN AH KOW` = `AH KOW TAN`), a
//! name with an English name in front or behind, and nothing in a name without a connector says
//! which word is which, so order is not held against it. The connector does say it: when both
//! names have one, given names pair only with given names and father's names only with father's
//! names (`AHMAD BIN ALI` is not `ALI BIN AHMAD`). When only one has it, the other is read as a
//! given name followed by a father's name, split wherever it fits best (`AHMAD ALI` =
//! `AHMAD BIN ALI`, while `ALI AHMAD` is not), and the father's name, which people leave out far
//! more often than banks do, weighs half.
//!
//! Aliases: a name with `@` ("also known as" on a MyKad) matches through any one of its names.
//!
//! Spacing: adjacent words of one name that together spell a word of the other are joined first
//! (`WEIMING` = `WEI MING`, `ABDULRAHMAN` = `ABDUL RAHMAN`).
//!
//! # Verdict
//! `exact` when every token of each name pairs with an identical token of the other (the names
//! are equal as sets of words with repeats, under the order rule above) — the score is 1.00 then
//! and only then; `partial` when the score is at least 0.70; otherwise `none`; `not_checked` when
//! no name was given. Rounding down means a near miss never reads as reaching the threshold.
//! Everything is integer arithmetic: the same names always give the same score.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// API.md's `name_match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameVerdict {
    Exact,
    Partial,
    None,
    NotChecked,
}

impl NameVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            NameVerdict::Exact => "exact",
            NameVerdict::Partial => "partial",
            NameVerdict::None => "none",
            NameVerdict::NotChecked => "not_checked",
        }
    }
}

impl std::fmt::Display for NameVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict and its `name_score` (exactly two decimals, 0.00 when not checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameMatch {
    pub verdict: NameVerdict,
    pub score: Decimal,
}

impl NameMatch {
    pub fn not_checked() -> NameMatch {
        NameMatch {
            verdict: NameVerdict::NotChecked,
            score: Decimal::new(0, 2),
        }
    }

    fn from_hundredths(hundredths: u32) -> NameMatch {
        let verdict = if hundredths == 100 {
            NameVerdict::Exact
        } else if hundredths >= PARTIAL_FROM {
            NameVerdict::Partial
        } else {
            NameVerdict::None
        };
        NameMatch {
            verdict,
            score: Decimal::new(hundredths.into(), 2),
        }
    }
}

/// API.md: `partial` from a score of 0.70.
const PARTIAL_FROM: u32 = 70;
/// Below this a token pair is a coincidence, not a match (`TAN`/`ANG` share letters, not a name).
const PAIR_FROM: u32 = 60;
const SAME_NAME_SPELLING: u32 = 90;
const INITIAL: u32 = 60;
/// Longer than any bank holds: keeps the quadratic comparison cheap on hostile input.
const MAX_NAME_CHARS: usize = 256;

/// Compares the name the merchant expects with the account holder's name from the bank.
/// An empty or blank `expected` means no name was given: `not_checked`.
pub fn match_names(expected: &str, account_holder: &str) -> NameMatch {
    if expected.trim().is_empty() {
        return NameMatch::not_checked();
    }
    let expected = alternatives(expected);
    let holder = alternatives(account_holder);
    let best = expected
        .iter()
        .flat_map(|e| holder.iter().map(move |h| similarity(e, h)))
        .max()
        .unwrap_or(0);
    NameMatch::from_hundredths(best)
}

/// The whole name, and each of its names when it has an alias: on a MyKad, `@` reads "also
/// known as" (`LIM AH KOW @ LIM KOK WAH`), and either name is the holder's.
fn alternatives(name: &str) -> Vec<ParsedName> {
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
struct ParsedName {
    tokens: Vec<Token>,
    has_connector: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    /// After a connector: part of the father's name.
    parent: bool,
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
const SAME_NAME: &[&[&str]] = &[
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
    fn parse(name: &str) -> ParsedName {
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

/// The score in hundredths (module doc, "Score").
fn similarity(a: &ParsedName, b: &ParsedName) -> u32 {
    if a.tokens.is_empty() || b.tokens.is_empty() {
        return 0;
    }
    // The pairing is symmetric, so the one-sided case is always read with the connector on `a`.
    if !a.has_connector && b.has_connector {
        return similarity(b, a);
    }
    let a_tokens = join_spaced(&a.tokens, &b.tokens);
    let b_tokens = join_spaced(&b.tokens, &a.tokens);
    let a_chars: Vec<Vec<char>> = a_tokens.iter().map(|t| t.text.chars().collect()).collect();
    let b_chars: Vec<Vec<char>> = b_tokens.iter().map(|t| t.text.chars().collect()).collect();
    let sims: Vec<Vec<u32>> = a_chars
        .iter()
        .map(|x| b_chars.iter().map(|y| token_similarity(x, y)).collect())
        .collect();
    // Weights in half characters, so that a father's name can weigh half without fractions.
    let full = |chars: &Vec<char>| 2 * chars.len() as u64;
    let b_weights: Vec<u64> = b_chars.iter().map(full).collect();

    if a.has_connector == b.has_connector {
        let a_side = Side {
            weights: a_chars.iter().map(full).collect(),
            roles: a_tokens.iter().map(|t| t.parent).collect(),
        };
        let b_side = Side {
            weights: b_weights,
            roles: b_tokens.iter().map(|t| t.parent).collect(),
        };
        return best_pairing(&sims, &a_side, &b_side);
    }
    // Only `a` says where the father's name starts: its father's name weighs half, and `b` is
    // tried split into given name and father's name at every point.
    let a_side = Side {
        weights: a_tokens
            .iter()
            .zip(&a_chars)
            .map(|(t, c)| if t.parent { full(c) / 2 } else { full(c) })
            .collect(),
        roles: a_tokens.iter().map(|t| t.parent).collect(),
    };
    (0..=b_tokens.len())
        .map(|split| {
            let b_side = Side {
                weights: b_weights.clone(),
                roles: (0..b_tokens.len()).map(|j| j >= split).collect(),
            };
            best_pairing(&sims, &a_side, &b_side)
        })
        .max()
        .unwrap_or(0)
}

struct Side {
    weights: Vec<u64>,
    /// `true` for the father's name: tokens pair only within the same role.
    roles: Vec<bool>,
}

/// Greedy one-to-one pairing, most similar (then heaviest) pair first; the weighted Dice score
/// in hundredths, rounded down, with contradicting words weighing double (module doc). Equal pairs are taken in the order of `a`'s tokens and, again, in
/// the order of `b`'s, and the better result kept: the score does not depend on which name is
/// which.
fn best_pairing(sims: &[Vec<u32>], a: &Side, b: &Side) -> u32 {
    let total: u64 = a.weights.iter().sum::<u64>() + b.weights.iter().sum::<u64>();
    if total == 0 {
        return 0;
    }
    let mut pairs: Vec<(u32, u64, usize, usize)> = Vec::new();
    for (i, row) in sims.iter().enumerate() {
        for (j, &sim) in row.iter().enumerate() {
            if sim > 0 && a.roles[i] == b.roles[j] {
                pairs.push((sim, a.weights[i] + b.weights[j], i, j));
            }
        }
    }
    let greedy = |pairs: &[(u32, u64, usize, usize)]| -> u32 {
        let mut a_used = vec![false; a.weights.len()];
        let mut b_used = vec![false; b.weights.len()];
        let mut matched = 0;
        for &(sim, weight, i, j) in pairs {
            if !a_used[i] && !b_used[j] {
                a_used[i] = true;
                b_used[j] = true;
                matched += u64::from(sim) * weight;
            }
        }
        let mut total = total;
        for role in [false, true] {
            let left_over = |side: &Side, used: &[bool]| -> u64 {
                (0..side.weights.len())
                    .filter(|&k| !used[k] && side.roles[k] == role)
                    .map(|k| side.weights[k])
                    .sum()
            };
            let (a_left, b_left) = (left_over(a, &a_used), left_over(b, &b_used));
            if a_left > 0 && b_left > 0 {
                total += a_left + b_left;
            }
        }
        u32::try_from(matched / total).map_or(100, |h| h.min(100))
    };
    pairs.sort_by(|x, y| (y.0, y.1, x.2, x.3).cmp(&(x.0, x.1, y.2, y.3)));
    let a_first = greedy(&pairs);
    pairs.sort_by(|x, y| (y.0, y.1, x.3, x.2).cmp(&(x.0, x.1, y.3, y.2)));
    let b_first = greedy(&pairs);
    a_first.max(b_first)
}

/// Joins runs of 2–4 adjacent tokens (within one role) that spell a token of the other name.
fn join_spaced(tokens: &[Token], other: &[Token]) -> Vec<Token> {
    let targets: HashSet<&str> = other.iter().map(|t| t.text.as_str()).collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    'tokens: while i < tokens.len() {
        for run in (2..=4).rev() {
            let Some(window) = tokens.get(i..i + run) else {
                continue;
            };
            if window.iter().any(|t| t.parent != window[0].parent) {
                continue;
            }
            let joined: String = window.iter().map(|t| t.text.as_str()).collect();
            if targets.contains(joined.as_str()) {
                out.push(Token {
                    text: joined,
                    parent: window[0].parent,
                });
                i += run;
                continue 'tokens;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

/// One pair's similarity in hundredths; 0 below [`PAIR_FROM`].
fn token_similarity(a: &[char], b: &[char]) -> u32 {
    if a == b {
        return 100;
    }
    let mut best = 0;
    if same_name(a, b) {
        best = SAME_NAME_SPELLING;
    }
    let is_initial_of = |x: &[char], y: &[char]| {
        x.len() == 1 && y.len() > 1 && x[0] == y[0] && x[0].is_alphabetic()
    };
    if is_initial_of(a, b) || is_initial_of(b, a) {
        best = best.max(INITIAL);
    }
    let longer = a.len().max(b.len());
    let distance = typo_distance(a, b).min(longer);
    // Integer percent, rounded down; `longer` is at least 1 here since a != b.
    let by_typos = u32::try_from((longer - distance) * 100 / longer).unwrap_or(0);
    best = best.max(by_typos);
    if best >= PAIR_FROM { best } else { 0 }
}

fn same_name(a: &[char], b: &[char]) -> bool {
    let a: String = a.iter().collect();
    let b: String = b.iter().collect();
    SAME_NAME
        .iter()
        .any(|group| group.contains(&a.as_str()) && group.contains(&b.as_str()))
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent letters, each one typo.
fn typo_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    // Three rolling rows: two back for the swap.
    let mut before: Vec<usize> = vec![0; m + 1];
    let mut previous: Vec<usize> = (0..=m).collect();
    let mut current: Vec<usize> = vec![0; m + 1];
    for i in 1..=n {
        current[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[m]
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameVerdict::{Exact, None as NoMatch, NotChecked, Partial};
    use proptest::prelude::*;

    /// The normalised name as text: tokens in order, `|` where the father's name starts.
    fn normalised(name: &str) -> String {
        let parsed = ParsedName::parse(name);
        let mut out: Vec<&str> = Vec::new();
        let mut in_parent = false;
        for token in &parsed.tokens {
            if token.parent && !in_parent {
                out.push("|");
                in_parent = true;
            }
            out.push(&token.text);
        }
        if parsed.has_connector && !in_parent {
            out.push("|");
        }
        out.join(" ")
    }

    fn score(expected: &str, holder: &str) -> String {
        match_names(expected, holder).score.to_string()
    }

    /// Real-world pairs: (name given, name the bank holds, verdict, score bounds "lo..hi" or "").
    /// Without bounds, the verdict's own range applies (exact 1.00, partial 0.70–0.99, none
    /// 0.00–0.69, not_checked 0.00).
    const CASES: &[(&str, &str, NameVerdict, &str)] = &[
        // Malay: bin/binti spellings, honorifics, abbreviations, order.
        (
            "Ahmad Fauzi bin Abdullah",
            "AHMAD FAUZI BIN ABDULLAH",
            Exact,
            "",
        ),
        (
            "Encik Ahmad Fauzi Bin Abdullah",
            "AHMAD FAUZI BIN ABDULLAH",
            Exact,
            "",
        ),
        (
            "En. Ahmad Fauzi B. Abdullah",
            "AHMAD FAUZI BIN ABDULLAH",
            Exact,
            "",
        ),
        (
            "Siti Nurhaliza binti Tarudin",
            "SITI NURHALIZA BT TARUDIN",
            Exact,
            "",
        ),
        (
            "Cik Siti Nurhaliza Bt. Tarudin",
            "SITI NURHALIZA BINTI TARUDIN",
            Exact,
            "",
        ),
        ("Nurul Ain Bte Kassim", "NURUL AIN BINTI KASSIM", Exact, ""),
        (
            "Dato' Sri Mohd Najib bin Tun Abdul Razak",
            "MOHD NAJIB BIN TUN ABDUL RAZAK",
            Exact,
            "",
        ),
        (
            "Puan Hajah Rosnah binti Haji Ismail",
            "ROSNAH BINTI ISMAIL",
            Exact,
            "",
        ),
        ("Pn. Rosnah Ismail", "ROSNAH BINTI ISMAIL", Exact, ""),
        (
            "Toh Puan Aishah binti Abdul Rahman",
            "AISHAH BINTI ABDUL RAHMAN",
            Exact,
            "",
        ),
        ("Abdulrahman bin Yusof", "ABDUL RAHMAN BIN YUSOF", Exact, ""),
        (
            "Tan Sri Muhyiddin Yassin",
            "MUHYIDDIN BIN MOHD YASSIN",
            Partial,
            "0.90..0.99",
        ),
        (
            "Mohd Ali bin Abu Bakar",
            "MUHAMMAD ALI BIN ABU BAKAR",
            Partial,
            "0.90..0.99",
        ),
        (
            "Muhamad Ali bin Abu Bakar",
            "MUHAMMAD ALI BIN ABU BAKAR",
            Partial,
            "0.90..0.99",
        ),
        (
            "M. Ali bin Abu Bakar",
            "MUHAMMAD ALI BIN ABU BAKAR",
            Partial,
            "",
        ),
        (
            "Nur Aisyah binti Ahmad",
            "NOOR AISYAH BINTI AHMAD",
            Partial,
            "0.95..0.99",
        ),
        (
            "Abd Rahman bin Yusof",
            "ABDUL RAHMAN BIN YUSOF",
            Partial,
            "0.90..0.99",
        ),
        (
            "Ahamd Fauzi bin Abdulah",
            "AHMAD FAUZI BIN ABDULLAH",
            Partial,
            "0.80..0.95",
        ),
        ("Ahmad Fauzi", "AHMAD FAUZI BIN ABDULLAH", Partial, ""),
        (
            "Ahmad Fauzi bin Abdul Rahman",
            "AHMAD FAUZI BIN ABDUL RAHM",
            Partial,
            "0.90..0.99",
        ),
        (
            "Syed Hamid Albar",
            "SYED HAMID BIN SYED JAAFAR ALBAR",
            Partial,
            "",
        ),
        (
            "Sharifah Aini binti Syed Ahmad",
            "SYARIFAH AINI BINTI SYED AHMAD",
            Partial,
            "",
        ),
        ("Siti", "SITI NURHALIZA BINTI TARUDIN", NoMatch, ""),
        ("Ahmad bin Ali", "ALI BIN AHMAD", NoMatch, "0.00..0.00"),
        ("Ismail Rosnah", "ROSNAH BINTI ISMAIL", NoMatch, ""),
        (
            "Nurul Ain binti Kassim",
            "NURUL HUDA BINTI KASSIM",
            NoMatch,
            "",
        ),
        // Order: without a connector nothing says which word is the father's name.
        ("Ahmad Ali", "AHMAD BIN ALI", Exact, ""),
        ("Ali Ahmad", "AHMAD BIN ALI", NoMatch, ""),
        ("Ali Muhammad", "MUHAMMAD ALI", Exact, ""),
        // Sarawak: anak / ak.
        ("Jimmy anak Donald", "JIMMY AK DONALD", Exact, ""),
        // Chinese: order, dialect spellings, joined syllables, English names, aliases.
        ("Tan Ah Kow", "TAN AH KOW", Exact, ""),
        ("Ah Kow Tan", "TAN AH KOW", Exact, ""),
        ("Mr. Tan Ah Kow", "TAN AH KOW", Exact, ""),
        ("Tan Sri Lim Kok Wing", "LIM KOK WING", Exact, ""),
        ("Toh Ah Kow", "TOH AH KOW", Exact, ""),
        ("Lim Weiming", "LIM WEI MING", Exact, ""),
        ("Madam Ng Siew-Lan", "NG SIEW LAN", Exact, ""),
        ("Jason Tan Ah Kow", "TAN AH KOW", Partial, ""),
        ("Tan Ah Kow Jason", "JASON TAN AH KOW", Exact, ""),
        ("Teoh Chee Keong", "TEO CHEE KEONG", Partial, "0.90..0.99"),
        ("Chong Mei Ling", "CHEONG MEI LING", Partial, "0.90..0.99"),
        ("Wong Kah Wai", "WONG KAR WAI", Partial, ""),
        ("Lim Ah Kow", "LIM AH KOW @ LIM KOK WAH", Exact, ""),
        ("Tan Ah Kow", "CHEN AH KOW", NoMatch, ""),
        ("Lee Chong Wei", "LI ZONG WEI", NoMatch, ""),
        ("Lim Kok Wing", "TAN AH KOW", NoMatch, ""),
        // Indian: a/l, a/p, s/o, d/o, father's initial.
        (
            "Arun Kumar a/l Subramaniam",
            "ARUN KUMAR A/L SUBRAMANIAM",
            Exact,
            "",
        ),
        (
            "Arun Kumar s/o Subramaniam",
            "ARUN KUMAR A/L SUBRAMANIAM",
            Exact,
            "",
        ),
        ("Kavitha a/p Muthu", "KAVITHA A / P MUTHU", Exact, ""),
        ("Dr. Devi d/o Ramasamy", "DEVI A/P RAMASAMY", Exact, ""),
        ("Arun Kumar", "ARUN KUMAR A/L SUBRAMANIAM", Partial, ""),
        ("S. Arun Kumar", "ARUN KUMAR A/L SUBRAMANIAM", Partial, ""),
        (
            "Rajeswary a/p Krishnan",
            "RAJESWARI A/P KRISHNAN",
            Partial,
            "0.90..0.99",
        ),
        (
            "Murugan a/l Raman",
            "RAMAN A/L MURUGAN",
            NoMatch,
            "0.00..0.00",
        ),
        // Companies.
        ("ABC Trading Sdn Bhd", "ABC TRADING SDN. BHD.", Exact, ""),
        (
            "ABC Trading Sendirian Berhad",
            "ABC TRADING SDN BHD",
            Exact,
            "",
        ),
        ("ABC Trading S/B", "ABC TRADING SDN BHD", Exact, ""),
        ("Maju Jaya Enterprise", "MAJU JAYA ENT.", Exact, ""),
        ("Sime Darby Bhd", "SIME DARBY BERHAD", Exact, ""),
        ("Nestlé (M) Berhad", "NESTLE (MALAYSIA) BERHAD", Exact, ""),
        ("A & B Trading", "A AND B TRADING", Exact, ""),
        (
            "Rimba Hijau PLT",
            "RIMBA HIJAU PERKONGSIAN LIABILITI TERHAD",
            Exact,
            "",
        ),
        ("ABC Trading", "ABC TRADING SDN BHD", Partial, ""),
        ("Tan Ah Kow", "TAN AH KOW ENTERPRISE", Partial, ""),
        ("Tan Ah Kow", "TAN AH KOW SDN BHD", Partial, ""),
        (
            "Ahmad Fauzi bin Abdullah",
            "FAUZI MAJU ENTERPRISE",
            NoMatch,
            "",
        ),
        (
            "ABC Trading Sdn Bhd",
            "XYZ HOLDINGS BERHAD",
            NoMatch,
            "0.00..0.00",
        ),
        // Different people, formatting, empty-ish input.
        ("John Doe", "SITI AMINAH BINTI OMAR", NoMatch, "0.00..0.00"),
        ("john.doe", "JOHN   DOE", Exact, ""),
        ("ＴＡＮ ＡＨ ＫＯＷ", "TAN AH KOW", Exact, ""),
        ("", "JOHN DOE", NotChecked, ""),
        ("   ", "JOHN DOE", NotChecked, ""),
        ("Encik", "AHMAD BIN ALI", NoMatch, "0.00..0.00"),
        ("...", "JOHN DOE", NoMatch, "0.00..0.00"),
        ("John Doe", "", NoMatch, "0.00..0.00"),
    ];

    fn bounds(verdict: NameVerdict, given: &str) -> (Decimal, Decimal) {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        if let Some((lo, hi)) = given.split_once("..") {
            return (d(lo), d(hi));
        }
        match verdict {
            Exact => (d("1.00"), d("1.00")),
            Partial => (d("0.70"), d("0.99")),
            NoMatch => (d("0.00"), d("0.69")),
            NotChecked => (d("0.00"), d("0.00")),
        }
    }

    #[test]
    fn real_world_name_pairs_get_their_verdict() {
        assert!(CASES.len() >= 40, "{} rows", CASES.len());
        let mut failures = Vec::new();
        for &(expected, holder, verdict, given_bounds) in CASES {
            let got = match_names(expected, holder);
            let (lo, hi) = bounds(verdict, given_bounds);
            if got.verdict != verdict || got.score < lo || got.score > hi {
                failures.push(format!(
                    "{expected:?} vs {holder:?}: got {} {}, want {} in {lo}..{hi}",
                    got.verdict, got.score, verdict
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn real_world_name_pairs_score_the_same_both_ways() {
        for &(expected, holder, _, _) in CASES {
            if expected.trim().is_empty() || holder.trim().is_empty() {
                continue;
            }
            assert_eq!(
                match_names(expected, holder),
                match_names(holder, expected),
                "{expected:?} vs {holder:?}"
            );
        }
    }

    #[test]
    fn ignores_case_punctuation_and_spacing() {
        assert_eq!(normalised("  John.DOE,  jr- "), "john doe jr");
        assert_eq!(normalised("O'NEIL"), "oneil");
    }

    #[test]
    fn folds_accents_and_full_width_letters() {
        assert_eq!(normalised("José Ñúñez"), "jose nunez");
        assert_eq!(normalised("ＡＨＭＡＤ"), "ahmad");
    }

    #[test]
    fn drops_leading_honorifics_of_every_kind() {
        for titled in [
            "Encik Ahmad",
            "En. Ahmad",
            "Tuan Haji Ahmad",
            "Tn. Hj. Ahmad",
            "Dato' Sri Ahmad",
            "Datuk Seri Panglima Ahmad",
            "Dato Paduka Ahmad",
            "Tan Sri Dato' Dr. Ahmad",
            "Tun Ahmad",
            "YBhg. Dato' Ahmad",
            "Yang Berbahagia Datuk Ahmad",
            "Prof. Ir. Ahmad",
            "Sir Ahmad",
            "Mr Ahmad",
        ] {
            assert_eq!(normalised(titled), "ahmad", "{titled}");
        }
        for titled in [
            "Puan Siti",
            "Pn. Siti",
            "Cik Siti",
            "Datin Paduka Siti",
            "Puan Sri Siti",
            "Toh Puan Siti",
            "Hajah Siti",
            "Hjh. Siti",
            "Mrs. Siti",
            "Ms Siti",
            "Miss Siti",
            "Madam Siti",
            "Mdm Siti",
        ] {
            assert_eq!(normalised(titled), "siti", "{titled}");
        }
    }

    #[test]
    fn keeps_tan_as_a_surname_unless_it_opens_tan_sri() {
        assert_eq!(normalised("Tan Ah Kow"), "tan ah kow");
        assert_eq!(normalised("Tan Sri Tan Ah Kow"), "tan ah kow");
    }

    #[test]
    fn keeps_toh_as_a_surname_unless_it_opens_toh_puan() {
        assert_eq!(normalised("Toh Ah Kow"), "toh ah kow");
        assert_eq!(normalised("Toh Puan Siti"), "siti");
    }

    #[test]
    fn keeps_title_words_that_are_names_when_no_title_precedes_them() {
        assert_eq!(normalised("Sri Devi"), "sri devi");
        assert_eq!(normalised("Datin Sri Devi"), "devi");
    }

    #[test]
    fn keeps_honorific_words_after_the_name_starts() {
        assert_eq!(normalised("Lim En Qi"), "lim en qi");
    }

    #[test]
    fn drops_haji_before_a_fathers_name() {
        assert_eq!(normalised("Ahmad bin Haji Ali"), "ahmad | ali");
        assert_eq!(normalised("Ahmad b. Hj. Ali"), "ahmad | ali");
    }

    #[test]
    fn reads_every_connector_spelling_as_one_connector() {
        for name in [
            "Ali bin Abu",
            "Ali binti Abu",
            "Ali binte Abu",
            "Ali bt Abu",
            "Ali bt. Abu",
            "Ali bte Abu",
            "Ali b. Abu",
            "Ali a/l Abu",
            "Ali A/P Abu",
            "Ali s/o Abu",
            "Ali d/o Abu",
            "Ali anak Abu",
            "Ali ak Abu",
            "Ali ibni Abu",
        ] {
            assert_eq!(normalised(name), "ali | abu", "{name}");
        }
    }

    #[test]
    fn reads_a_slash_connector_with_spaces_around_the_slash() {
        assert_eq!(normalised("Kavitha a / p Muthu"), "kavitha | muthu");
        assert_eq!(normalised("Kavitha A/ P Muthu"), "kavitha | muthu");
    }

    #[test]
    fn reads_a_short_connector_at_either_end_as_a_word() {
        assert_eq!(normalised("B. Kumar"), "b kumar");
        assert_eq!(normalised("Kumar B"), "kumar b");
        assert_eq!(normalised("M. B. Kumar"), "m b kumar");
    }

    #[test]
    fn reads_bin_as_a_word_when_it_starts_the_name() {
        assert_eq!(normalised("Bin Lee"), "bin lee");
    }

    #[test]
    fn canonicalises_company_forms() {
        for (name, want) in [
            ("ABC Sdn Bhd", "abc sdnbhd"),
            ("ABC Sdn. Bhd.", "abc sdnbhd"),
            ("ABC SENDIRIAN BERHAD", "abc sdnbhd"),
            ("ABC S/B", "abc sdnbhd"),
            ("ABC Bhd", "abc bhd"),
            ("ABC Berhad", "abc bhd"),
            ("ABC PLT", "abc plt"),
            ("ABC Perkongsian Liabiliti Terhad", "abc plt"),
            ("ABC Enterprise", "abc ent"),
            ("ABC Ent.", "abc ent"),
            ("ABC Limited", "abc ltd"),
            ("ABC (M) Sdn Bhd", "abc malaysia sdnbhd"),
        ] {
            assert_eq!(normalised(name), want, "{name}");
        }
    }

    #[test]
    fn reads_no_connector_in_a_company_name() {
        assert_eq!(normalised("A B C Trading Sdn Bhd"), "a b c trading sdnbhd");
    }

    #[test]
    fn joins_syllables_that_the_other_name_writes_as_one_word() {
        assert_eq!(match_names("Tan Wei Ming", "TAN WEIMING").verdict, Exact);
        assert_eq!(match_names("Tan Weiming", "TAN WEI MING").verdict, Exact);
        // Only within one part of the name: the connector is not spacing.
        assert_ne!(match_names("Ali bin Abu", "ALIABU").verdict, Exact);
    }

    #[test]
    fn counts_a_swap_of_two_letters_as_one_typo() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(typo_distance(&chars("ahmad"), &chars("ahamd")), 1);
        assert_eq!(typo_distance(&chars("ahmad"), &chars("ahmed")), 1);
        assert_eq!(typo_distance(&chars("abdullah"), &chars("abdulah")), 1);
        assert_eq!(typo_distance(&chars(""), &chars("abc")), 3);
        assert_eq!(typo_distance(&chars("kitten"), &chars("sitting")), 3);
    }

    #[test]
    fn scores_a_token_pair_in_hundredths() {
        let sim = |a: &str, b: &str| {
            token_similarity(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(sim("ahmad", "ahmad"), 100);
        assert_eq!(sim("mohd", "muhammad"), 90);
        assert_eq!(sim("m", "muhammad"), 60);
        assert_eq!(sim("ahmad", "ahmed"), 80);
        assert_eq!(sim("muhammad", "muhamad"), 90); // a known spelling beats 87 by typos
        assert_eq!(sim("tan", "ang"), 0); // 33: a coincidence, not a pair
        assert_eq!(sim("m", "ali"), 0);
    }

    #[test]
    fn weighs_a_long_word_more_than_a_short_one() {
        // One name's last word missing: the longer it is, the lower the score.
        let short = match_names("Tan Ah", "TAN AH KOW").score;
        let long = match_names("Tan Kow", "TAN KOW AHMADIAH").score;
        assert!(long < short, "{long} vs {short}");
    }

    #[test]
    fn weighs_a_fathers_name_half_only_when_the_other_name_leaves_it_out() {
        // 9 + 9 letters paired, of 9 + 9 + 11/2 in all: 18 / 23.5.
        assert_eq!(score("Arun Kumar", "ARUN KUMAR A/L SUBRAMANIAM"), "0.76");
        // Both say who the father is, and the fathers differ: full weight.
        assert_eq!(
            match_names("Arun Kumar a/l Raj", "ARUN KUMAR A/L SUBRAMANIAM").verdict,
            NoMatch
        );
    }

    #[test]
    fn reports_exactly_two_decimals() {
        for (e, h) in [
            ("Tan Ah Kow", "TAN AH KOW"),
            ("John", "SITI"),
            ("Jason Tan Ah Kow", "TAN AH KOW"),
            ("", "X"),
        ] {
            assert_eq!(match_names(e, h).score.scale(), 2, "{e} vs {h}");
        }
        assert_eq!(score("Tan Ah Kow", "TAN AH KOW"), "1.00");
        assert_eq!(score("John", "SITI"), "0.00");
    }

    #[test]
    fn serialises_verdicts_as_api_md_names_them() {
        for (verdict, name) in [
            (Exact, "exact"),
            (Partial, "partial"),
            (NoMatch, "none"),
            (NotChecked, "not_checked"),
        ] {
            assert_eq!(serde_json::to_value(verdict).unwrap(), name);
            assert_eq!(verdict.as_str(), name);
        }
        let json = serde_json::to_value(match_names("Jason Tan Ah Kow", "TAN AH KOW")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"verdict": "partial", "score": "0.76"})
        );
    }

    #[test]
    fn stays_cheap_on_a_hostile_holder_name() {
        let holder = "AB ".repeat(100_000);
        let started = std::time::Instant::now();
        let _ = match_names(&"x y ".repeat(32), &holder);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        let words = prop::sample::select(vec![
            "Tan", "Ah", "Kow", "Ahmad", "Ali", "bin", "binti", "a/l", "Siti", "Mohd", "Muhammad",
            "M.", "Encik", "Dato'", "Sdn", "Bhd", "Wei", "Ming", "Weiming", "@", "Lim", "Abu",
            "Haji", "Kumar", "Kumaran", "b", "Sri", "Tan Sri",
        ]);
        prop::collection::vec(words, 0..7).prop_map(|w| w.join(" "))
    }

    proptest! {
        #[test]
        fn the_score_is_the_same_whichever_name_comes_first(a in name_strategy(), b in name_strategy()) {
            prop_assume!(!a.trim().is_empty() && !b.trim().is_empty());
            prop_assert_eq!(match_names(&a, &b), match_names(&b, &a));
        }

        #[test]
        fn a_name_matches_itself_exactly_whenever_it_has_a_word(a in name_strategy()) {
            let got = match_names(&a, &a);
            if ParsedName::parse(&a).tokens.is_empty() {
                prop_assert_ne!(got.verdict, Exact);
            } else {
                prop_assert_eq!(got.verdict, Exact);
            }
        }

        #[test]
        fn the_verdict_follows_the_score(a in name_strategy(), b in name_strategy()) {
            let got = match_names(&a, &b);
            let score = got.score;
            prop_assert!(score >= Decimal::ZERO && score <= Decimal::ONE);
            prop_assert_eq!(score.scale(), 2);
            match got.verdict {
                Exact => prop_assert_eq!(score, Decimal::ONE),
                Partial => prop_assert!(score >= Decimal::new(70, 2) && score < Decimal::ONE),
                NoMatch => prop_assert!(score < Decimal::new(70, 2)),
                NotChecked => prop_assert!(a.trim().is_empty()),
            }
        }
    }
}
