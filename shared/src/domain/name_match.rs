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

use parse::{ParsedName, SAME_NAME, Token, alternatives};

mod parse;
use serde::{Deserialize, Serialize};

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
pub(super) const MAX_NAME_CHARS: usize = 256;

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
mod tests;
