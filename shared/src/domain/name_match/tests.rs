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
        "M.", "Encik", "Dato'", "Sdn", "Bhd", "Wei", "Ming", "Weiming", "@", "Lim", "Abu", "Haji",
        "Kumar", "Kumaran", "b", "Sri", "Tan Sri",
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
