//! ISO 2859-1:1999 single sampling plans: Table 1 (sample size code letters),
//! Table 2-A (normal inspection), Table 2-B (tightened inspection) and
//! Table 2-C (reduced inspection). GB/T 2828.1-2012 is identical.
//!
//! Tables 1, 2-A and 2-B are also ANSI/ASQ Z1.4 Tables I, II-A and II-B and
//! MIL-STD-105E Tables I, II-A and II-B. Table 2-C is **not** their Table II-C:
//! the 1999 edition gave reduced inspection its own plans with Re = Ac + 1 in
//! every cell (Z1.4 still has 0/2, 1/3, 1/4, 2/5, … and the rule "accept but
//! reinstate normal inspection" for the gap), with the reduced sample sizes of
//! [`CodeLetter::reduced_sample_size`].
//!
//! A plan is found in two steps (clause 10): the lot size and the inspection
//! level give a code letter (Table 1); the code letter and the AQL give a cell
//! of the master table. A cell holds a plan (Ac, Re) or an arrow: ↓ means "use
//! the first sampling plan below the arrow", ↑ "the first sampling plan above
//! the arrow" (the tables' footnotes), and then **that** plan's sample size is
//! used with its Ac and Re, so the plan's letter may differ from the code
//! letter. When the sample size equals or exceeds the lot size the whole lot is
//! inspected (footnote to the ↓ arrow), judged by the same Ac and Re.
//!
//! Out of scope, on purpose:
//!
//! * Double and multiple sampling (Tables 3 and 4) and the optional
//!   fractional acceptance number plans (Table 11).
//! * The AQL columns 15 … 1000 (nonconformities per 100 items). Table 2-A's
//!   columns there were checked against two transcriptions, but Table 2-B's
//!   could not be (whether its largest plan is 41/42, as 44/45 is in 2-A, was
//!   not confirmed by any source found), and a scheme needs both tables, so
//!   [`Aql`] stops at 10.
//!
//! The tables below were checked against public transcriptions of
//! MIL-STD-105E / ANSI/ASQ Z1.4 / ISO 2859-1 (row-by-row plan lists, an
//! arrow-by-arrow transcription of AQL 0.65 … 15, an export of ISO 2859-1
//! Table 2-A for AQL 0.065 … 6.5, and the AQL Inspector's Rule manual's notes
//! on the tables' edges). One cell could not be confirmed by any of them:
//! Table 2-B, code letter R at AQL 0.015 (see `tightened_cell`).

use std::fmt;

use thiserror::Error;

/// Why no plan could be given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SamplingError {
    #[error("the lot size must be at least 1")]
    ZeroLotSize,
    #[error("`{0}` is not an inspection level; use one of S1, S2, S3, S4, I, II, III")]
    UnknownLevel(String),
    #[error("`{0}` is not an inspection severity; use normal, tightened or reduced")]
    UnknownSeverity(String),
    #[error("`{given}` is not an AQL of ISO 2859-1 Tables 2-A and 2-B; use one of {allowed}")]
    UnknownAql { given: String, allowed: String },
    #[error("`{0}` is not a sample size code letter")]
    UnknownCodeLetter(String),
    #[error("Table {table} has no plan for code letter {code_letter} at AQL {aql}")]
    NoPlan {
        table: &'static str,
        code_letter: CodeLetter,
        aql: Aql,
    },
}

/// The inspection level of clause 10.1 and Table 1: four special levels
/// (small samples, large risks) and three general ones (II is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InspectionLevel {
    S1,
    S2,
    S3,
    S4,
    I,
    II,
    III,
}

impl InspectionLevel {
    /// In Table 1's column order.
    pub const ALL: [InspectionLevel; 7] = [
        InspectionLevel::S1,
        InspectionLevel::S2,
        InspectionLevel::S3,
        InspectionLevel::S4,
        InspectionLevel::I,
        InspectionLevel::II,
        InspectionLevel::III,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InspectionLevel::S1 => "S1",
            InspectionLevel::S2 => "S2",
            InspectionLevel::S3 => "S3",
            InspectionLevel::S4 => "S4",
            InspectionLevel::I => "I",
            InspectionLevel::II => "II",
            InspectionLevel::III => "III",
        }
    }

    /// `S1` … `S4` (also written `S-1` … `S-4`), `I`, `II`, `III`; any case,
    /// surrounding spaces ignored.
    pub fn parse(raw: &str) -> Result<InspectionLevel, SamplingError> {
        let upper = raw.trim().to_ascii_uppercase();
        let name = match upper.strip_prefix("S-") {
            Some(rest) => format!("S{rest}"),
            None => upper,
        };
        InspectionLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == name)
            .ok_or_else(|| SamplingError::UnknownLevel(raw.to_string()))
    }

    fn column(self) -> usize {
        self as usize
    }
}

impl fmt::Display for InspectionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which master table applies (clause 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Table 2-A.
    Normal,
    /// Table 2-B.
    Tightened,
    /// Table 2-C.
    Reduced,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Normal, Severity::Tightened, Severity::Reduced];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Normal => "normal",
            Severity::Tightened => "tightened",
            Severity::Reduced => "reduced",
        }
    }

    /// `normal`, `tightened` or `reduced`, any case, surrounding spaces ignored.
    pub fn parse(raw: &str) -> Result<Severity, SamplingError> {
        let name = raw.trim().to_ascii_lowercase();
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| SamplingError::UnknownSeverity(raw.to_string()))
    }

    /// The table's name, as the standard numbers it.
    pub fn table(self) -> &'static str {
        match self {
            Severity::Normal => "2-A",
            Severity::Tightened => "2-B",
            Severity::Reduced => "2-C",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sample size code letter (Table 1 gives A … R; S is a row of Table 2-B
/// only, reached by the ↓ arrows of tightened inspection at AQL 0.025).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeLetter {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    J,
    K,
    L,
    M,
    N,
    P,
    Q,
    R,
    S,
}

impl CodeLetter {
    /// In the master tables' row order.
    pub const ALL: [CodeLetter; 17] = [
        CodeLetter::A,
        CodeLetter::B,
        CodeLetter::C,
        CodeLetter::D,
        CodeLetter::E,
        CodeLetter::F,
        CodeLetter::G,
        CodeLetter::H,
        CodeLetter::J,
        CodeLetter::K,
        CodeLetter::L,
        CodeLetter::M,
        CodeLetter::N,
        CodeLetter::P,
        CodeLetter::Q,
        CodeLetter::R,
        CodeLetter::S,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CodeLetter::A => "A",
            CodeLetter::B => "B",
            CodeLetter::C => "C",
            CodeLetter::D => "D",
            CodeLetter::E => "E",
            CodeLetter::F => "F",
            CodeLetter::G => "G",
            CodeLetter::H => "H",
            CodeLetter::J => "J",
            CodeLetter::K => "K",
            CodeLetter::L => "L",
            CodeLetter::M => "M",
            CodeLetter::N => "N",
            CodeLetter::P => "P",
            CodeLetter::Q => "Q",
            CodeLetter::R => "R",
            CodeLetter::S => "S",
        }
    }

    pub fn parse(raw: &str) -> Result<CodeLetter, SamplingError> {
        let name = raw.trim().to_ascii_uppercase();
        CodeLetter::ALL
            .into_iter()
            .find(|letter| letter.as_str() == name)
            .ok_or_else(|| SamplingError::UnknownCodeLetter(raw.to_string()))
    }

    /// The sample size of the letter's row in Tables 2-A and 2-B.
    pub fn sample_size(self) -> u32 {
        match self {
            CodeLetter::A => 2,
            CodeLetter::B => 3,
            CodeLetter::C => 5,
            CodeLetter::D => 8,
            CodeLetter::E => 13,
            CodeLetter::F => 20,
            CodeLetter::G => 32,
            CodeLetter::H => 50,
            CodeLetter::J => 80,
            CodeLetter::K => 125,
            CodeLetter::L => 200,
            CodeLetter::M => 315,
            CodeLetter::N => 500,
            CodeLetter::P => 800,
            CodeLetter::Q => 1250,
            CodeLetter::R => 2000,
            CodeLetter::S => 3150,
        }
    }

    /// The sample size of the letter's row in Table 2-C (reduced inspection):
    /// rows A, B and C all take 2, and from D on each row takes the normal
    /// sample of the row two above (D: 3 … R: 800). Row S is only in Table 2-B.
    pub fn reduced_sample_size(self) -> Option<u32> {
        match self {
            CodeLetter::A | CodeLetter::B | CodeLetter::C => Some(2),
            CodeLetter::S => None,
            letter => Some(CodeLetter::ALL[letter.row() - 2].sample_size()),
        }
    }

    /// The sample size of the letter's row in the master table of `severity`.
    pub fn sample_size_in(self, severity: Severity) -> Option<u32> {
        match severity {
            Severity::Normal if self == CodeLetter::S => None,
            Severity::Normal | Severity::Tightened => Some(self.sample_size()),
            Severity::Reduced => self.reduced_sample_size(),
        }
    }

    fn row(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CodeLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The preferred AQLs of Tables 2-A and 2-B (percent nonconforming, or
/// nonconformities per 100 items), column by column, in thousandths of a
/// percent so that they compare exactly, with the spelling the tables use.
const AQL_COLUMNS: [(u64, &str); 16] = [
    (10, "0.010"),
    (15, "0.015"),
    (25, "0.025"),
    (40, "0.040"),
    (65, "0.065"),
    (100, "0.10"),
    (150, "0.15"),
    (250, "0.25"),
    (400, "0.40"),
    (650, "0.65"),
    (1_000, "1.0"),
    (1_500, "1.5"),
    (2_500, "2.5"),
    (4_000, "4.0"),
    (6_500, "6.5"),
    (10_000, "10"),
];

/// An acceptance quality limit from the series 0.010 … 10 (see the module
/// documentation for why not beyond).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Aql(u8);

impl Aql {
    /// Every supported AQL, in column order.
    pub const ALL: [Aql; 16] = [
        Aql(0),
        Aql(1),
        Aql(2),
        Aql(3),
        Aql(4),
        Aql(5),
        Aql(6),
        Aql(7),
        Aql(8),
        Aql(9),
        Aql(10),
        Aql(11),
        Aql(12),
        Aql(13),
        Aql(14),
        Aql(15),
    ];

    /// A decimal number, compared by value: `0.01`, `0.010` and `0,010` are
    /// the same AQL, and so are `2.5` and `2.50`. Anything that is not one of
    /// the table's columns is an error naming the allowed values.
    pub fn parse(raw: &str) -> Result<Aql, SamplingError> {
        thousandths(raw)
            .and_then(|value| AQL_COLUMNS.iter().position(|(v, _)| *v == value))
            .map(|column| Aql(column as u8))
            .ok_or_else(|| SamplingError::UnknownAql {
                given: raw.to_string(),
                allowed: AQL_COLUMNS
                    .iter()
                    .map(|(_, name)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The AQL as the tables print it (`0.010`, `0.65`, `1.0`, `10`).
    pub fn as_str(self) -> &'static str {
        AQL_COLUMNS[self.column()].1
    }

    /// The next smaller AQL of the series (one step tighter, clause 9.3.3.2),
    /// or `None` for 0.010.
    pub fn one_step_tighter(self) -> Option<Aql> {
        self.0.checked_sub(1).map(Aql)
    }

    fn column(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for Aql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Aql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aql({})", self.as_str())
    }
}

/// An unsigned decimal (`.` or `,` as the decimal mark) in thousandths, if it
/// has no non-zero digit beyond the third decimal.
fn thousandths(raw: &str) -> Option<u64> {
    let text = raw.trim();
    let (whole, fraction) = match text.find(['.', ',']) {
        Some(mark) => (&text[..mark], &text[mark + 1..]),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let (kept, rest) = fraction.split_at(fraction.len().min(3));
    if !rest.bytes().all(|b| b == b'0') {
        return None;
    }
    let fraction = kept
        .bytes()
        .zip([100, 10, 1])
        .map(|(b, weight)| u64::from(b - b'0') * weight)
        .sum::<u64>();
    whole.checked_mul(1000)?.checked_add(fraction)
}

/// ISO 2859-1:1999 Table 1 — sample size code letters. Each row: the largest
/// lot size of the row, then the letters for S-1, S-2, S-3, S-4, I, II, III.
/// The rows are 2–8, 9–15, 16–25, 26–50, 51–90, 91–150, 151–280, 281–500,
/// 501–1 200, 1 201–3 200, 3 201–10 000, 10 001–35 000, 35 001–150 000,
/// 150 001–500 000, and 500 001 and over.
const TABLE_1: [(u32, [CodeLetter; 7]); 15] = {
    use CodeLetter::*;
    [
        (8, [A, A, A, A, A, A, B]),
        (15, [A, A, A, A, A, B, C]),
        (25, [A, A, B, B, B, C, D]),
        (50, [A, B, B, C, C, D, E]),
        (90, [B, B, C, C, C, E, F]),
        (150, [B, B, C, D, D, F, G]),
        (280, [B, C, D, E, E, G, H]),
        (500, [B, C, D, E, F, H, J]),
        (1_200, [C, C, E, F, G, J, K]),
        (3_200, [C, D, E, G, H, K, L]),
        (10_000, [C, D, F, G, J, L, M]),
        (35_000, [C, D, F, H, K, M, N]),
        (150_000, [D, E, G, J, L, N, P]),
        (500_000, [D, E, G, J, M, P, Q]),
        (u32::MAX, [D, E, H, K, N, Q, R]),
    ]
};

/// ISO 2859-1:1999 Table 1: the sample size code letter for a lot size and an
/// inspection level.
///
/// Table 1 starts at lot size 2. A lot of 1 is read in the 2–8 row: every plan
/// there has a sample of at least 2, so [`plan`] inspects the single item,
/// which is what the standard does for any lot no larger than its sample. A
/// lot of 0 falls in the same row here; [`plan`] rejects it.
pub fn code_letter(lot_size: u32, level: InspectionLevel) -> CodeLetter {
    let row = TABLE_1
        .iter()
        .find(|(largest, _)| lot_size <= *largest)
        .unwrap_or(&TABLE_1[TABLE_1.len() - 1]);
    row.1[level.column()]
}

/// One cell of a master table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// A single sampling plan with this acceptance number (Re = Ac + 1 in both
    /// tables).
    Plan(u32),
    /// ↓ — use the first sampling plan below the arrow.
    Down,
    /// ↑ — use the first sampling plan above the arrow.
    Up,
    /// No entry (only in Table 2-B's row S, which has a single plan).
    Blank,
}

// Rows and columns named where an edge of a table breaks its pattern.
const ROW_A: usize = 0;
const ROW_R: usize = 15;
const ROW_Q: usize = 14;
const ROW_S: usize = 16;
const COL_0_015: usize = 1;
const COL_0_025: usize = 2;
const COL_10: usize = 15;

/// Table 2-A, the acceptance numbers along the diagonals from the 1/2 plans
/// on: row + column = 17, 18, …, 24.
const NORMAL_AC: [u32; 8] = [1, 2, 3, 5, 7, 10, 14, 21];

/// Table 2-B, the acceptance numbers along the diagonals from the 1/2 plans
/// on: row + column = 18, 19, …, 24.
const TIGHTENED_AC: [u32; 7] = [1, 2, 3, 5, 8, 12, 18];

/// Table 2-C, the acceptance numbers along the diagonals from the 1/2 plans
/// on: row + column = 18, 19, …, 24. Re = Ac + 1 throughout (ISO 2859-1:1999
/// closed the gaps of the reduced plans, so 6/7 and 8/9 here where Z1.4 has
/// 5/8 and 7/10).
const REDUCED_AC: [u32; 7] = [1, 2, 3, 5, 6, 8, 10];

/// ISO 2859-1:1999 Table 2-A — single sampling plans for normal inspection
/// (master table), rows A … R, columns AQL 0.010 … 10.
///
/// Sample sizes grow by about 10^(1/5) from one code letter to the next and so
/// do the AQLs from one column to the next, so a cell's plan depends only on
/// its diagonal, row + column (A = 0, 0.010 = 0): the top-left ↓ region up to
/// 13; the 0/1 plans on 14; then an ↑ (back to the 0/1 plan above) and a ↓
/// (on to the 1/2 plan below) on 15 and 16 — the standard has no plan between
/// Ac 0 and Ac 1; the plans 1/2, 2/3, 3/4, 5/6, 7/8, 10/11, 14/15, 21/22 on 17
/// to 24; and the bottom-right ↑ region from 25 (rows F … R stop at 21/22 —
/// rows A … E go on to 30/31 and 44/45 only in the columns above 10).
fn normal_cell(row: usize, column: usize) -> Cell {
    // A at 10 is on the ↑ diagonal, but no plan lies above row A. The only
    // plan that arrow can lead to is the first one below in the column, C's
    // 1/2 (n = 5) — also what the AQL Inspector's Rule manual, note 1, tells
    // its users to take.
    if (row, column) == (ROW_A, COL_10) {
        return Cell::Down;
    }
    // R at 0.015 is on the ↓ diagonal, but R is the last row of Table 2-A; the
    // table sends it up instead, to P's 0/1 (n = 800).
    if (row, column) == (ROW_R, COL_0_015) {
        return Cell::Up;
    }
    if row > ROW_R {
        return Cell::Blank;
    }
    match row + column {
        0..=13 => Cell::Down,
        14 => Cell::Plan(0),
        15 => Cell::Up,
        16 => Cell::Down,
        diagonal @ 17..=24 => Cell::Plan(NORMAL_AC[diagonal - 17]),
        _ => Cell::Up,
    }
}

/// ISO 2859-1:1999 Table 2-B — single sampling plans for tightened
/// inspection (master table), rows A … S, columns AQL 0.010 … 10.
///
/// The same diagonal structure as Table 2-A, one row later for the small
/// plans: ↓ up to 14; the 0/1 plans on 15; two ↓ on 16 and 17 (no ↑ here); the
/// plans 1/2, 2/3, 3/4, 5/6, 8/9, 12/13, 18/19 on 18 to 24; ↑ from 25. Row S
/// (n = 3150) has one plan, 1/2 at AQL 0.025, where the ↓ of rows Q and R lead.
fn tightened_cell(row: usize, column: usize) -> Cell {
    if row == ROW_S {
        return if column == COL_0_025 {
            Cell::Plan(1)
        } else {
            Cell::Blank
        };
    }
    // Table 2-B has no 0/1 plan in row A: column 10's ↓ runs from A down to
    // D's 1/2 (n = 8), as the AQL Inspector's Rule manual, note 1, confirms.
    if (row, column) == (ROW_A, COL_10) {
        return Cell::Down;
    }
    // R at 0.015 is on a ↓ diagonal, but column 0.015 has no plan below R
    // (row S has a plan only at 0.025); read, like Table 2-A's R at 0.015, as
    // ↑ to Q's 0/1 (n = 1250). UNCONFIRMED: no source consulted shows this
    // cell; check it against the printed standard.
    if (row, column) == (ROW_R, COL_0_015) {
        return Cell::Up;
    }
    if row > ROW_S {
        return Cell::Blank;
    }
    match row + column {
        0..=14 => Cell::Down,
        15 => Cell::Plan(0),
        16 | 17 => Cell::Down,
        diagonal @ 18..=24 => Cell::Plan(TIGHTENED_AC[diagonal - 18]),
        _ => Cell::Up,
    }
}

/// ISO 2859-1:1999 Table 2-C — single sampling plans for reduced inspection
/// (master table), rows A … R, columns AQL 0.010 … 10.
///
/// The 0/1 plans lie on the same diagonal as in Table 2-A (14), with the
/// reduced sample sizes; then an ↑ on 15, two ↓ on 16 and 17 (as in Table
/// 2-B), the plans 1/2, 2/3, 3/4, 5/6, 6/7, 8/9, 10/11 on 18 to 24, and ↑
/// from 25.
fn reduced_cell(row: usize, column: usize) -> Cell {
    // A at 10 is on the ↑ diagonal with no row above; as in Table 2-A the
    // plan used is the first below, here D's 1/2 (n = 3) — the AQL
    // Inspector's Rule manual, note 1, sends reduced inspection at A/10 to
    // code letter C, whose ↓ leads to D.
    if (row, column) == (ROW_A, COL_10) {
        return Cell::Down;
    }
    // The bottom-left edge: column 0.015's ↓ at R and column 0.025's ↓ at Q
    // and R would point below the last row. The table prints ↑ there: R at
    // 0.015 goes to P's 0/1 (n = 315), as the AQL Inspector's Rule's notes for
    // AQLs below 0.065 say; Q and R at 0.025 are one long ↑ (from P) to N's
    // 0/1 (n = 200).
    if (row, column) == (ROW_R, COL_0_015) || (matches!(row, ROW_Q | ROW_R) && column == COL_0_025)
    {
        return Cell::Up;
    }
    if row > ROW_R {
        return Cell::Blank;
    }
    match row + column {
        0..=13 => Cell::Down,
        14 => Cell::Plan(0),
        15 => Cell::Up,
        16 | 17 => Cell::Down,
        diagonal @ 18..=24 => Cell::Plan(REDUCED_AC[diagonal - 18]),
        _ => Cell::Up,
    }
}

fn cell(severity: Severity, row: usize, column: usize) -> Cell {
    match severity {
        Severity::Normal => normal_cell(row, column),
        Severity::Tightened => tightened_cell(row, column),
        Severity::Reduced => reduced_cell(row, column),
    }
}

/// The plan a master table gives for a code letter and an AQL, arrows
/// followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterPlan {
    /// The row the plan was found in (the code letter unless an arrow led
    /// elsewhere).
    pub plan_letter: CodeLetter,
    pub sample_size: u32,
    pub accept: u32,
    pub reject: u32,
}

/// Table 2-A, 2-B or 2-C (by `severity`) for a code letter and an AQL: the
/// cell's plan, or the first plan below a ↓ or above an ↑ in the same column.
pub fn master_plan(
    code_letter: CodeLetter,
    aql: Aql,
    severity: Severity,
) -> Result<MasterPlan, SamplingError> {
    let column = aql.column();
    let start = code_letter.row();
    let found = match cell(severity, start, column) {
        Cell::Plan(ac) => Some((start, ac)),
        Cell::Down => {
            (start + 1..CodeLetter::ALL.len()).find_map(|row| plan_at(severity, row, column))
        }
        Cell::Up => (0..start)
            .rev()
            .find_map(|row| plan_at(severity, row, column)),
        Cell::Blank => None,
    };
    let (row, ac) = found.ok_or(SamplingError::NoPlan {
        table: severity.table(),
        code_letter,
        aql,
    })?;
    let plan_letter = CodeLetter::ALL[row];
    let sample_size = plan_letter
        .sample_size_in(severity)
        .ok_or(SamplingError::NoPlan {
            table: severity.table(),
            code_letter,
            aql,
        })?;
    Ok(MasterPlan {
        plan_letter,
        sample_size,
        accept: ac,
        reject: ac + 1,
    })
}

/// Clause 9.3.3.2 a) 1): the acceptance number the same sample would have had
/// "if the AQL had been one step tighter" — Table 2-A's cell in the row of
/// the plan used (`plan_letter`), one AQL column to the left. Only a plan in
/// that very cell counts, since only it has the same sample size; an arrow
/// (another sample) or no tighter column gives `None`, which the switching
/// score treats as "not accepted at the tighter AQL". Every 2-A plan with
/// Ac ≥ 2 has such a plan beside it (tested below), so `None` never takes a
/// point from a lot that earned it.
pub fn accept_one_step_tighter(plan_letter: CodeLetter, aql: Aql) -> Option<u32> {
    let tighter = aql.one_step_tighter()?;
    match normal_cell(plan_letter.row(), tighter.column()) {
        Cell::Plan(ac) => Some(ac),
        _ => None,
    }
}

fn plan_at(severity: Severity, row: usize, column: usize) -> Option<(usize, u32)> {
    match cell(severity, row, column) {
        Cell::Plan(ac) => Some((row, ac)),
        _ => None,
    }
}

/// The single sampling plan for one lot and one defect class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplingPlan {
    /// Table 1's code letter for the lot size and inspection level.
    pub code_letter: CodeLetter,
    /// The letter of the plan used, after following an arrow.
    pub plan_letter: CodeLetter,
    /// How many items to inspect: the plan's sample size, or the whole lot
    /// when the plan's sample is as large as the lot or larger.
    pub sample_size: u32,
    /// Ac: accept with at most this many nonconforming items (or
    /// nonconformities).
    pub accept: u32,
    /// Re: do not accept with this many or more.
    pub reject: u32,
    /// The whole lot is inspected (the plan's sample size ≥ the lot size).
    pub hundred_percent: bool,
}

/// ISO 2859-1:1999 clause 10: the single sampling plan for a lot — Table 1's
/// code letter, then Table 2-A (normal), 2-B (tightened) or 2-C (reduced) for
/// that letter and the AQL, arrows followed. If the resulting sample size equals or exceeds
/// the lot size, every item of the lot is inspected, with the plan's Ac and Re.
pub fn plan(
    lot_size: u32,
    level: InspectionLevel,
    aql: Aql,
    severity: Severity,
) -> Result<SamplingPlan, SamplingError> {
    if lot_size == 0 {
        return Err(SamplingError::ZeroLotSize);
    }
    let code_letter = code_letter(lot_size, level);
    let found = master_plan(code_letter, aql, severity)?;
    let hundred_percent = found.sample_size >= lot_size;
    Ok(SamplingPlan {
        code_letter,
        plan_letter: found.plan_letter,
        sample_size: if hundred_percent {
            lot_size
        } else {
            found.sample_size
        },
        accept: found.accept,
        reject: found.reject,
        hundred_percent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---------------------------------------------------------------------
    // Independent transcriptions of the printed tables. Each master table row
    // is `letter sample-size | cells…`, one cell per AQL column 0.010 … 10:
    // `↓` and `↑` are the printed arrows, `a/r` is a plan's Ac/Re, `·` is an
    // empty cell. The arrows are followed by `read_table` below, which reads
    // the grid the way an inspector reads the page, not by the module's code.
    // ---------------------------------------------------------------------

    /// A plan as read off a table: letter, sample size, Ac, Re.
    type Read = (String, u32, u32, u32);

    /// A cell whose arrow points at nothing: letter, AQL, and the plan used
    /// instead (letter, sample size, Ac, Re).
    type Edge = (&'static str, &'static str, (&'static str, u32, u32, u32));

    const AQL_HEADER: [&str; 16] = [
        "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0",
        "1.5", "2.5", "4.0", "6.5", "10",
    ];

    /// ISO 2859-1:1999 Table 2-A (= ANSI/ASQ Z1.4 Table II-A, MIL-STD-105E
    /// Table II-A), single sampling plans for normal inspection, AQL 0.010 … 10.
    #[rustfmt::skip]
    const TABLE_2A: [&str; 16] = [
        //        0.010 0.015 0.025 0.040 0.065 0.10  0.15  0.25  0.40  0.65  1.0   1.5   2.5   4.0   6.5   10
        "A    2 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑",
        "B    3 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓",
        "C    5 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2",
        "D    8 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3",
        "E   13 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4",
        "F   20 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6",
        "G   32 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8",
        "H   50 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11",
        "J   80 | ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15",
        "K  125 | ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22",
        "L  200 | ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑",
        "M  315 | ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑",
        "N  500 | ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑",
        "P  800 | ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑",
        "Q 1250 | 0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑     ↑",
        "R 2000 | ↑     ↑     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑     ↑     ↑",
    ];

    /// Table 2-A's one arrow with nothing where it points: A at AQL 10 is an ↑
    /// with no row above. The AQL Inspector's Rule manual (note 1) says to use
    /// code letter C — the first plan below — and so does this module.
    const TABLE_2A_EDGES: [Edge; 1] = [("A", "10", ("C", 5, 1, 2))];

    /// ISO 2859-1:1999 Table 2-B (= ANSI/ASQ Z1.4 Table II-B, MIL-STD-105E
    /// Table II-B), single sampling plans for tightened inspection, AQL
    /// 0.010 … 10. Row A has no plan below AQL 15: its column-10 cell is part of
    /// the ↓ that ends at D's 1/2. R at 0.015 is transcribed as ↑, unconfirmed
    /// (no source consulted shows that cell).
    #[rustfmt::skip]
    const TABLE_2B: [&str; 17] = [
        //        0.010 0.015 0.025 0.040 0.065 0.10  0.15  0.25  0.40  0.65  1.0   1.5   2.5   4.0   6.5   10
        "A    2 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓",
        "B    3 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓",
        "C    5 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓",
        "D    8 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2",
        "E   13 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3",
        "F   20 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4",
        "G   32 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6",
        "H   50 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9",
        "J   80 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13",
        "K  125 | ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19",
        "L  200 | ↓     ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19 ↑",
        "M  315 | ↓     ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19 ↑     ↑",
        "N  500 | ↓     ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19 ↑     ↑     ↑",
        "P  800 | ↓     ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19 ↑     ↑     ↑     ↑",
        "Q 1250 | ↓     0/1   ↓     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19 ↑     ↑     ↑     ↑     ↑",
        "R 2000 | 0/1   ↑     ↓     1/2   2/3   3/4   5/6   8/9   12/13 18/19 ↑     ↑     ↑     ↑     ↑     ↑",
        "S 3150 | ·     ·     1/2   ·     ·     ·     ·     ·     ·     ·     ·     ·     ·     ·     ·     ·",
    ];

    /// ISO 2859-1:1999 Table 2-C (= GB/T 2828.1-2012 表 2-C), single sampling
    /// plans for reduced inspection, AQL 0.010 … 10, with the reduced sample
    /// sizes. NOT ANSI/ASQ Z1.4 / MIL-STD-105E Table II-C, whose plans differ
    /// and keep gaps between Ac and Re.
    ///
    /// Cross-checked, cell by cell, against two public transcriptions:
    /// 1. the GB/T 2828.1-2012 Table 2-C of an open-source quality-statistics
    ///    toolkit (TypeScript, `aql.ts`, "表 2-C 放宽检验一次抽样方案"), which
    ///    lists every cell with its arrow already followed (letter, n, Ac) and
    ///    records that it was read against the printed standard, including
    ///    the long ↑ in column 0.025 over P, Q and R. Every cell of this grid,
    ///    read by `read_table`, gives that transcription's plan; the one
    ///    exception is the dangling ↑ at A/10, where it gives D's 1/2 — see
    ///    `TABLE_2C_EDGES`;
    /// 2. the AQL Inspector's Rule manual (ISO 2859-1:1999 version): its
    ///    worked example 3 (code letter G, AQL 1.0, reduced: arrows through H
    ///    to J, n = 32, Ac 1, Re 2 — the ANSI version gives H, n = 20, 0/2),
    ///    its note for AQLs below 0.065 (reduced, R at 0.015: move to P,
    ///    n = 315, 0/1) and its note 1 (A at AQL 10: use code letter C). Those
    ///    cells are asserted again in `table_2c_cells_named_by_the_aql_inspectors_rule`.
    ///
    /// A third transcription found (a VB.NET class `Reduce`) lists plans that
    /// are Table 2-A moved two rows down (7/8, 10/11 on the last diagonals);
    /// it contradicts both sources above on G/1.0 and R/0.015, so it was not
    /// followed.
    #[rustfmt::skip]
    const TABLE_2C: [&str; 16] = [
        //       0.010 0.015 0.025 0.040 0.065 0.10  0.15  0.25  0.40  0.65  1.0   1.5   2.5   4.0   6.5   10
        "A   2 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑",
        "B   2 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓",
        "C   2 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓",
        "D   3 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2",
        "E   5 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3",
        "F   8 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4",
        "G  13 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6",
        "H  20 | ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7",
        "J  32 | ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7   8/9",
        "K  50 | ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7   8/9   10/11",
        "L  80 | ↓     ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7   8/9   10/11 ↑",
        "M 125 | ↓     ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7   8/9   10/11 ↑     ↑",
        "N 200 | ↓     ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7   8/9   10/11 ↑     ↑     ↑",
        "P 315 | ↓     0/1   ↑     ↓     ↓     1/2   2/3   3/4   5/6   6/7   8/9   10/11 ↑     ↑     ↑     ↑",
        "Q 500 | 0/1   ↑     ↑     ↓     1/2   2/3   3/4   5/6   6/7   8/9   10/11 ↑     ↑     ↑     ↑     ↑",
        "R 800 | ↑     ↑     ↑     1/2   2/3   3/4   5/6   6/7   8/9   10/11 ↑     ↑     ↑     ↑     ↑     ↑",
    ];

    /// Table 2-C's one arrow with nothing where it points: A at AQL 10 is an ↑
    /// with no row above. Both transcriptions use the first plan below in the
    /// column, D's 1/2 (n = 3).
    const TABLE_2C_EDGES: [Edge; 1] = [("A", "10", ("D", 3, 1, 2))];

    /// ISO 2859-1:1999 Table 1 (= ANSI/ASQ Z1.4 Table I, MIL-STD-105E Table
    /// I): lot size from, to, then the letters for S-1 S-2 S-3 S-4 I II III.
    #[rustfmt::skip]
    const TABLE_1_ROWS: [(u32, u32, &str); 15] = [
        (2, 8, "AAAAAAB"),
        (9, 15, "AAAAABC"),
        (16, 25, "AABBBCD"),
        (26, 50, "ABBCCDE"),
        (51, 90, "BBCCCEF"),
        (91, 150, "BBCDDFG"),
        (151, 280, "BCDEEGH"),
        (281, 500, "BCDEFHJ"),
        (501, 1_200, "CCEFGJK"),
        (1_201, 3_200, "CDEGHKL"),
        (3_201, 10_000, "CDFGJLM"),
        (10_001, 35_000, "CDFHKMN"),
        (35_001, 150_000, "DEGJLNP"),
        (150_001, 500_000, "DEGJMPQ"),
        (500_001, u32::MAX, "DEHKNQR"),
    ];

    struct Row<'a> {
        letter: &'a str,
        sample_size: u32,
        cells: Vec<&'a str>,
    }

    fn rows<'a>(table: &[&'a str]) -> Vec<Row<'a>> {
        table
            .iter()
            .map(|line| {
                let (head, cells) = line.split_once('|').expect("a `|` in each row");
                let mut head = head.split_whitespace();
                let letter = head.next().expect("a letter");
                let sample_size = head
                    .next()
                    .expect("a sample size")
                    .parse()
                    .expect("a number");
                let cells: Vec<&str> = cells.split_whitespace().collect();
                assert_eq!(cells.len(), 16, "row {letter} has {} cells", cells.len());
                Row {
                    letter,
                    sample_size,
                    cells,
                }
            })
            .collect()
    }

    fn cell_plan(cell: &str) -> Option<(u32, u32)> {
        let (ac, re) = cell.split_once('/')?;
        Some((ac.parse().expect("Ac"), re.parse().expect("Re")))
    }

    /// The plan an inspector reads off the grid: the cell's own plan, or the
    /// first plan below a `↓` / above an `↑` in the same column; `None` for an
    /// empty cell or an arrow that points at nothing.
    fn read_table(rows: &[Row], row: usize, column: usize) -> Option<Read> {
        let found = |r: usize| {
            cell_plan(rows[r].cells[column])
                .map(|(ac, re)| (rows[r].letter.to_string(), rows[r].sample_size, ac, re))
        };
        match rows[row].cells[column] {
            "↓" => (row + 1..rows.len()).find_map(found),
            "↑" => (0..row).rev().find_map(found),
            "·" => None,
            _ => found(row),
        }
    }

    fn check_master_table(severity: Severity, table: &[&str], edges: &[Edge]) {
        let rows = rows(table);
        let mut mismatches = Vec::new();
        let mut checked = 0;
        for (r, row) in rows.iter().enumerate() {
            let letter = CodeLetter::parse(row.letter).expect("a code letter");
            assert_eq!(
                letter.sample_size_in(severity),
                Some(row.sample_size),
                "sample size of {letter} in Table {}",
                severity.table()
            );
            for (column, aql_text) in AQL_HEADER.iter().enumerate() {
                let aql = Aql::parse(aql_text).expect("a table AQL");
                assert_eq!(aql, Aql::ALL[column]);
                let edge = edges
                    .iter()
                    .find(|(l, a, _)| *l == row.letter && a == aql_text)
                    .map(|(_, _, (pl, n, ac, re))| (pl.to_string(), *n, *ac, *re));
                let expected = edge.or_else(|| read_table(&rows, r, column));
                let actual = master_plan(letter, aql, severity)
                    .ok()
                    .map(|p| (p.plan_letter.to_string(), p.sample_size, p.accept, p.reject));
                if expected != actual {
                    mismatches.push(format!(
                        "{letter} at {aql_text}: table {expected:?}, module {actual:?}"
                    ));
                }
                checked += 1;
            }
        }
        assert_eq!(checked, rows.len() * 16);
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn table_2a_every_code_letter_and_aql() {
        // ISO 2859-1:1999 Table 2-A, all 16 × 16 cells for AQL 0.010 … 10.
        check_master_table(Severity::Normal, &TABLE_2A, &TABLE_2A_EDGES);
    }

    #[test]
    fn table_2b_every_code_letter_and_aql() {
        // ISO 2859-1:1999 Table 2-B, all 17 × 16 cells (rows A … S) for AQL
        // 0.010 … 10.
        check_master_table(Severity::Tightened, &TABLE_2B, &[]);
    }

    #[test]
    fn table_2c_every_code_letter_and_aql() {
        // ISO 2859-1:1999 Table 2-C, all 16 × 16 cells for AQL 0.010 … 10.
        check_master_table(Severity::Reduced, &TABLE_2C, &TABLE_2C_EDGES);
    }

    #[test]
    fn table_2c_has_no_gap_between_ac_and_re() {
        // The 1999 edition's reduced plans: Re = Ac + 1 in every cell, unlike
        // Z1.4's 0/2, 1/3, 1/4, 2/5, 3/6, 5/8, 7/10, 10/13.
        for line in TABLE_2C {
            for cell in line.split_once('|').unwrap().1.split_whitespace() {
                if let Some((ac, re)) = cell_plan(cell) {
                    assert_eq!(re, ac + 1, "{cell} in {line}");
                }
            }
        }
        for letter in CodeLetter::ALL {
            for aql in Aql::ALL {
                if let Ok(p) = master_plan(letter, aql, Severity::Reduced) {
                    assert_eq!(p.reject, p.accept + 1);
                }
            }
        }
    }

    #[test]
    fn table_2c_cells_named_by_the_aql_inspectors_rule() {
        let read = |letter: CodeLetter, a: &str| {
            let p = master_plan(letter, aql(a), Severity::Reduced).unwrap();
            (p.plan_letter, p.sample_size, p.accept, p.reject)
        };
        // Example 3 (ISO version): G at 1.0 → arrows through H to J, n = 32, 1/2.
        assert_eq!(read(CodeLetter::G, "1.0"), (CodeLetter::J, 32, 1, 2));
        // Notes for AQLs below 0.065: reduced, R at 0.015 → P, n = 315, 0/1.
        assert_eq!(read(CodeLetter::R, "0.015"), (CodeLetter::P, 315, 0, 1));
        // Note 1: A at 10 → code letter C, whose ↓ leads to D's 1/2 (n = 3).
        assert_eq!(read(CodeLetter::A, "10"), read(CodeLetter::C, "10"));
        assert_eq!(read(CodeLetter::A, "10"), (CodeLetter::D, 3, 1, 2));
        // The long ↑ of column 0.025: P, Q and R all use N's 0/1 (n = 200).
        for letter in [CodeLetter::P, CodeLetter::Q, CodeLetter::R] {
            assert_eq!(read(letter, "0.025"), (CodeLetter::N, 200, 0, 1));
        }
        // Row S exists only in Table 2-B.
        assert!(master_plan(CodeLetter::S, aql("0.025"), Severity::Reduced).is_err());
    }

    #[test]
    fn reduced_sample_sizes_per_code_letter() {
        // Table 2-C's sample size column.
        let expected = [
            ("A", 2),
            ("B", 2),
            ("C", 2),
            ("D", 3),
            ("E", 5),
            ("F", 8),
            ("G", 13),
            ("H", 20),
            ("J", 32),
            ("K", 50),
            ("L", 80),
            ("M", 125),
            ("N", 200),
            ("P", 315),
            ("Q", 500),
            ("R", 800),
        ];
        for (name, n) in expected {
            let letter = CodeLetter::parse(name).unwrap();
            assert_eq!(letter.reduced_sample_size(), Some(n), "{name}");
            assert_eq!(letter.sample_size_in(Severity::Reduced), Some(n));
        }
        assert_eq!(CodeLetter::S.reduced_sample_size(), None);
        assert_eq!(CodeLetter::S.sample_size_in(Severity::Normal), None);
        assert_eq!(
            CodeLetter::S.sample_size_in(Severity::Tightened),
            Some(3150)
        );
    }

    #[test]
    fn reduced_plan_for_a_lot_uses_the_reduced_sample() {
        // Lot 1 000 at level II is J; Table 2-C, J at 2.5 is 3/4 with n = 32
        // (normal: 80, 5/6; tightened: 80, 3/4).
        let p = plan(1_000, InspectionLevel::II, aql("2.5"), Severity::Reduced).unwrap();
        assert_eq!(
            (p.code_letter, p.plan_letter),
            (CodeLetter::J, CodeLetter::J)
        );
        assert_eq!((p.sample_size, p.accept, p.reject), (32, 3, 4));
        // Lot 2 at level II is A; A at 6.5 is 0/1 with n = 2: the whole lot.
        let p = plan(2, InspectionLevel::II, aql("6.5"), Severity::Reduced).unwrap();
        assert_eq!((p.sample_size, p.hundred_percent), (2, true));
    }

    #[test]
    fn one_step_tighter_is_the_next_smaller_aql() {
        assert_eq!(aql("2.5").one_step_tighter(), Some(aql("1.5")));
        assert_eq!(aql("10").one_step_tighter(), Some(aql("6.5")));
        assert_eq!(aql("0.015").one_step_tighter(), Some(aql("0.010")));
        assert_eq!(aql("0.010").one_step_tighter(), None);
    }

    #[test]
    fn every_normal_plan_with_ac_two_or_more_has_a_tighter_plan_with_the_same_sample() {
        // Clause 9.3.3.2 a) 1) compares the same sample against the AQL one
        // step tighter; in Table 2-A that cell is always a plan in the same row.
        let mut checked = 0;
        for letter in CodeLetter::ALL {
            for a in Aql::ALL {
                let Ok(p) = master_plan(letter, a, Severity::Normal) else {
                    continue;
                };
                if p.accept < 2 {
                    continue;
                }
                let tighter = accept_one_step_tighter(p.plan_letter, a)
                    .unwrap_or_else(|| panic!("{letter} at {a}: no tighter plan"));
                assert!(tighter < p.accept, "{letter} at {a}");
                let same_row = master_plan(
                    p.plan_letter,
                    a.one_step_tighter().unwrap(),
                    Severity::Normal,
                )
                .unwrap();
                assert_eq!(
                    (same_row.plan_letter, same_row.accept),
                    (p.plan_letter, tighter)
                );
                checked += 1;
            }
        }
        assert!(checked > 60, "{checked}");
        // J at 2.5 (80, 5/6) one step tighter is J at 1.5: 3/4.
        assert_eq!(accept_one_step_tighter(CodeLetter::J, aql("2.5")), Some(3));
        // An arrow one step tighter (H at 0.40 is ↑): no plan with this sample.
        assert_eq!(accept_one_step_tighter(CodeLetter::H, aql("0.65")), None);
        assert_eq!(accept_one_step_tighter(CodeLetter::Q, aql("0.010")), None);
    }

    #[test]
    fn transcriptions_have_no_arrow_pointing_at_nothing_except_the_noted_edge() {
        for (table, expected_dangling) in [
            (&TABLE_2A[..], vec![(0, 15)]),
            (&TABLE_2B[..], vec![]),
            (&TABLE_2C[..], vec![(0, 15)]),
        ] {
            let rows = rows(table);
            let mut dangling = Vec::new();
            for r in 0..rows.len() {
                for column in 0..16 {
                    let arrow = matches!(rows[r].cells[column], "↓" | "↑");
                    if arrow && read_table(&rows, r, column).is_none() {
                        dangling.push((r, column));
                    }
                }
            }
            assert_eq!(dangling, expected_dangling);
        }
    }

    #[test]
    fn table_1_every_lot_size_row_and_level() {
        for (from, to, letters) in TABLE_1_ROWS {
            let middle = from + (to - from) / 2;
            for (level, expected) in InspectionLevel::ALL.into_iter().zip(letters.chars()) {
                for lot in [from, middle, to] {
                    assert_eq!(
                        code_letter(lot, level).as_str(),
                        expected.to_string(),
                        "lot {lot}, level {level}"
                    );
                }
            }
        }
    }

    #[test]
    fn lot_of_one_reads_the_first_row_of_table_1_and_is_inspected_whole() {
        assert_eq!(code_letter(1, InspectionLevel::II), CodeLetter::A);
        assert_eq!(code_letter(1, InspectionLevel::III), CodeLetter::B);
        let one = plan(1, InspectionLevel::II, aql("1.0"), Severity::Normal).unwrap();
        assert_eq!((one.sample_size, one.hundred_percent), (1, true));
        assert_eq!((one.accept, one.reject), (0, 1));
    }

    #[test]
    fn lot_of_zero_has_no_plan() {
        assert_eq!(
            plan(0, InspectionLevel::II, aql("1.0"), Severity::Normal),
            Err(SamplingError::ZeroLotSize)
        );
    }

    #[test]
    fn code_letter_sample_sizes() {
        let expected = [
            ("A", 2),
            ("B", 3),
            ("C", 5),
            ("D", 8),
            ("E", 13),
            ("F", 20),
            ("G", 32),
            ("H", 50),
            ("J", 80),
            ("K", 125),
            ("L", 200),
            ("M", 315),
            ("N", 500),
            ("P", 800),
            ("Q", 1250),
            ("R", 2000),
            ("S", 3150),
        ];
        assert_eq!(CodeLetter::ALL.len(), expected.len());
        for (letter, (name, n)) in CodeLetter::ALL.into_iter().zip(expected) {
            assert_eq!((letter.as_str(), letter.sample_size()), (name, n));
            assert_eq!(CodeLetter::parse(name), Ok(letter));
        }
    }

    fn aql(raw: &str) -> Aql {
        Aql::parse(raw).unwrap()
    }

    #[test]
    fn down_arrow_uses_the_sample_size_of_the_plan_below() {
        // Lot 1 000 at level II is J (n = 80); Table 2-A, J at 0.40 is ↓ to
        // K's 1/2 with K's sample of 125.
        let p = plan(1_000, InspectionLevel::II, aql("0.40"), Severity::Normal).unwrap();
        assert_eq!(
            (p.code_letter, p.plan_letter),
            (CodeLetter::J, CodeLetter::K)
        );
        assert_eq!((p.sample_size, p.accept, p.reject), (125, 1, 2));
        assert!(!p.hundred_percent);

        // Table 2-B, J at 0.40 is ↓ past K's ↓ to L's 1/2 (n = 200).
        let p = plan(1_000, InspectionLevel::II, aql("0.40"), Severity::Tightened).unwrap();
        assert_eq!(p.plan_letter, CodeLetter::L);
        assert_eq!((p.sample_size, p.accept, p.reject), (200, 1, 2));
    }

    #[test]
    fn up_arrow_uses_the_sample_size_of_the_plan_above() {
        // Table 2-A, J at 0.25 is ↑ to H's 0/1 (n = 50).
        let p = plan(1_000, InspectionLevel::II, aql("0.25"), Severity::Normal).unwrap();
        assert_eq!(
            (p.code_letter, p.plan_letter),
            (CodeLetter::J, CodeLetter::H)
        );
        assert_eq!((p.sample_size, p.accept, p.reject), (50, 0, 1));

        // Table 2-B, bottom-right: lot 50 000 at level II is N; N at 4.0 is ↑
        // to M's 18/19 (n = 315).
        let p = plan(50_000, InspectionLevel::II, aql("4.0"), Severity::Tightened).unwrap();
        assert_eq!(
            (p.code_letter, p.plan_letter),
            (CodeLetter::N, CodeLetter::M)
        );
        assert_eq!((p.sample_size, p.accept, p.reject), (315, 18, 19));
    }

    #[test]
    fn zero_one_and_one_two_plans_are_separated_by_an_up_and_a_down_arrow_in_table_2a() {
        // K: 0/1 at 0.10, ↑ at 0.15 (back to J's 0/1), ↓ at 0.25 (on to L's 1/2), 1/2 at 0.40.
        let read = |a: &str| {
            let p = master_plan(CodeLetter::K, aql(a), Severity::Normal).unwrap();
            (p.plan_letter, p.sample_size, p.accept, p.reject)
        };
        assert_eq!(read("0.10"), (CodeLetter::K, 125, 0, 1));
        assert_eq!(read("0.15"), (CodeLetter::J, 80, 0, 1));
        assert_eq!(read("0.25"), (CodeLetter::L, 200, 1, 2));
        assert_eq!(read("0.40"), (CodeLetter::K, 125, 1, 2));
    }

    #[test]
    fn tightened_small_aqls_reach_code_letter_s() {
        // Table 2-B, AQL 0.025: Q and R are ↓ to S's 1/2 with n = 3150.
        for letter in [CodeLetter::Q, CodeLetter::R] {
            let p = master_plan(letter, aql("0.025"), Severity::Tightened).unwrap();
            assert_eq!(
                (p.plan_letter, p.sample_size, p.accept, p.reject),
                (CodeLetter::S, 3150, 1, 2)
            );
        }
        let p = plan(
            600_000,
            InspectionLevel::III,
            aql("0.025"),
            Severity::Tightened,
        )
        .unwrap();
        assert_eq!(
            (p.code_letter, p.plan_letter, p.sample_size),
            (CodeLetter::R, CodeLetter::S, 3150)
        );
        // S is no row of Table 2-A, and has no other plan in Table 2-B.
        assert!(master_plan(CodeLetter::S, aql("0.025"), Severity::Normal).is_err());
        assert!(master_plan(CodeLetter::S, aql("0.010"), Severity::Tightened).is_err());
    }

    #[test]
    fn small_lot_is_inspected_whole_with_the_plans_numbers() {
        // Lot 10 at level II is B; Table 2-A, B at 0.65 is ↓ to F's 0/1, whose
        // sample of 20 exceeds the lot: inspect all 10.
        let p = plan(10, InspectionLevel::II, aql("0.65"), Severity::Normal).unwrap();
        assert_eq!(
            (p.code_letter, p.plan_letter),
            (CodeLetter::B, CodeLetter::F)
        );
        assert_eq!((p.sample_size, p.accept, p.reject), (10, 0, 1));
        assert!(p.hundred_percent);
    }

    #[test]
    fn sample_equal_to_the_lot_is_a_hundred_percent_inspection() {
        // Lot 2 at level II is A; A at 6.5 is 0/1 with n = 2.
        let p = plan(2, InspectionLevel::II, aql("6.5"), Severity::Normal).unwrap();
        assert_eq!(
            (p.plan_letter, p.sample_size, p.hundred_percent),
            (CodeLetter::A, 2, true)
        );
        let p = plan(3, InspectionLevel::II, aql("6.5"), Severity::Normal).unwrap();
        assert_eq!((p.sample_size, p.hundred_percent), (2, false));
    }

    #[test]
    fn aql_parses_by_value() {
        for (raw, canonical) in [
            ("0.010", "0.010"),
            ("0.01", "0.010"),
            ("0,010", "0.010"),
            (".65", "0.65"),
            ("0.650", "0.65"),
            ("1", "1.0"),
            ("2.50", "2.5"),
            (" 6.5 ", "6.5"),
            ("10", "10"),
            ("10.000", "10"),
        ] {
            assert_eq!(Aql::parse(raw).map(Aql::as_str), Ok(canonical), "{raw}");
        }
        for (a, name) in Aql::ALL.into_iter().zip(AQL_HEADER) {
            assert_eq!(Aql::parse(name), Ok(a));
            assert_eq!(a.as_str(), name);
        }
    }

    #[test]
    fn aql_outside_the_series_is_an_error_naming_the_allowed_values() {
        for raw in [
            "", ".", "0", "0.011", "0.0101", "3", "15", "2.5%", "-1", "1e1", "1.0.0", "abc",
        ] {
            let err = Aql::parse(raw).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("0.010, 0.015, 0.025") && message.ends_with("4.0, 6.5, 10"),
                "{raw}: {message}"
            );
            assert!(matches!(err, SamplingError::UnknownAql { given, .. } if given == raw));
        }
    }

    #[test]
    fn inspection_levels_parse_in_either_spelling() {
        for (raw, level) in [
            ("S1", InspectionLevel::S1),
            ("S-1", InspectionLevel::S1),
            ("s-2", InspectionLevel::S2),
            ("s3", InspectionLevel::S3),
            (" S-4 ", InspectionLevel::S4),
            ("I", InspectionLevel::I),
            ("ii", InspectionLevel::II),
            ("III", InspectionLevel::III),
        ] {
            assert_eq!(InspectionLevel::parse(raw), Ok(level), "{raw}");
        }
        for level in InspectionLevel::ALL {
            assert_eq!(InspectionLevel::parse(level.as_str()), Ok(level));
        }
        for raw in ["", "S5", "S-", "IV", "G2", "S 1"] {
            assert_eq!(
                InspectionLevel::parse(raw),
                Err(SamplingError::UnknownLevel(raw.to_string()))
            );
        }
    }

    #[test]
    fn severities_parse_including_reduced() {
        assert_eq!(Severity::parse("normal"), Ok(Severity::Normal));
        assert_eq!(Severity::parse(" Tightened "), Ok(Severity::Tightened));
        assert_eq!(Severity::parse("REDUCED"), Ok(Severity::Reduced));
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Ok(s));
        }
        assert_eq!(Severity::Reduced.table(), "2-C");
        let err = Severity::parse("skip-lot").unwrap_err();
        assert!(err.to_string().contains("normal, tightened or reduced"));
        assert!(CodeLetter::parse("I").is_err());
    }
}
