//! Rules of the learning area: the teaching forms of Circular 09/2021, the approval flow of
//! learning materials (Art. 10), homework deadlines and late policies, and the online share.

use serde::{Deserialize, Serialize};

use crate::people::Invalid;

/// How a lesson is taught (Circular 09/2021 Art. 3): face to face, online supporting a
/// face-to-face lesson, or online replacing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LessonForm {
    /// Trực tiếp.
    FaceToFace,
    /// Trực tuyến hỗ trợ dạy học trực tiếp.
    OnlineSupport,
    /// Trực tuyến thay thế dạy học trực tiếp.
    OnlineReplace,
}

impl LessonForm {
    /// Every form, in the order forms offer them.
    pub const ALL: [Self; 3] = [Self::FaceToFace, Self::OnlineSupport, Self::OnlineReplace];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::FaceToFace => "face_to_face",
            Self::OnlineSupport => "online_support",
            Self::OnlineReplace => "online_replace",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::FaceToFace => "Trực tiếp",
            Self::OnlineSupport => "Trực tuyến hỗ trợ",
            Self::OnlineReplace => "Trực tuyến thay thế",
        }
    }

    /// Whether the periods count as online teaching. Only lessons that *replace* face-to-face
    /// teaching count towards the share of the curriculum taught online: a supporting online
    /// activity happens on top of the periods taught in class.
    pub fn counts_online(self) -> bool {
        matches!(self, Self::OnlineReplace)
    }
}

/// The online share in tenths of a percent (`123` is 12.3 %), or `None` without periods.
pub fn online_share_permille(online_periods: i64, all_periods: i64) -> Option<i64> {
    if all_periods <= 0 {
        return None;
    }
    // Round half up in integers: no float drift in a figure that goes into reports.
    Some((online_periods.max(0) * 1000 * 2 + all_periods) / (all_periods * 2))
}

/// Formats tenths of a percent as Vietnamese text: `12,3 %`.
pub fn format_permille(p: i64) -> String {
    format!("{},{} %", p / 10, p % 10)
}

/// What a learning material is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialKind {
    /// Rich text written in lophoc (Markdown with LaTeX math).
    Text,
    /// An uploaded document or image (PDF, DOCX, PPTX, XLSX, JPEG, PNG, WebP).
    File,
    /// A link to a page or a video elsewhere.
    Link,
    /// An uploaded video, transcoded to HLS.
    Video,
}

impl MaterialKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Text, Self::File, Self::Link, Self::Video];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::File => "file",
            Self::Link => "link",
            Self::Video => "video",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Bài viết",
            Self::File => "Tệp",
            Self::Link => "Liên kết",
            Self::Video => "Video",
        }
    }
}

/// Where a material stands in the review of Circular 09 Art. 10: the subject group reviews
/// (thẩm định), the principal approves (phê duyệt); only approved materials reach students.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialStatus {
    /// Being written by its author.
    Draft,
    /// Waiting for the subject-group head.
    InReview,
    /// Endorsed by the group; waiting for the principal.
    Endorsed,
    /// Sent back with comments.
    Returned,
    /// Approved by the principal: usable in courses.
    Approved,
}

impl MaterialStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Draft,
        Self::InReview,
        Self::Endorsed,
        Self::Returned,
        Self::Approved,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Endorsed => "endorsed",
            Self::Returned => "returned",
            Self::Approved => "approved",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Bản nháp",
            Self::InReview => "Chờ tổ chuyên môn thẩm định",
            Self::Endorsed => "Chờ hiệu trưởng phê duyệt",
            Self::Returned => "Bị trả lại",
            Self::Approved => "Đã phê duyệt",
        }
    }
}

/// A step of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStep {
    /// The author sends the material for review.
    Submit,
    /// The group head endorses it.
    Endorse,
    /// The principal approves it.
    Approve,
    /// A reviewer returns it with a comment.
    Return,
}

impl ReviewStep {
    /// Every step.
    pub const ALL: [Self; 4] = [Self::Submit, Self::Endorse, Self::Approve, Self::Return];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Endorse => "endorse",
            Self::Approve => "approve",
            Self::Return => "return",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label, as the history shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Submit => "Gửi thẩm định",
            Self::Endorse => "Tổ chuyên môn thông qua",
            Self::Approve => "Hiệu trưởng phê duyệt",
            Self::Return => "Trả lại",
        }
    }
}

/// Who is acting on a material, as far as the review cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewer {
    /// The material's author.
    pub is_author: bool,
    /// A subject-group head of the material's group (or of the school when it has no group).
    pub is_group_head: bool,
    /// The principal.
    pub is_principal: bool,
}

/// The status after `step`, or why the step is not allowed now, for this person.
pub fn review_transition(
    status: MaterialStatus,
    step: ReviewStep,
    who: Reviewer,
) -> Result<MaterialStatus, Invalid> {
    use MaterialStatus as S;
    use ReviewStep as R;
    let refuse = |m: &str| Err(Invalid(m.to_owned()));
    match (step, status) {
        (R::Submit, S::Draft | S::Returned) if who.is_author => Ok(S::InReview),
        (R::Submit, S::Draft | S::Returned) => {
            refuse("Chỉ tác giả mới gửi được học liệu đi thẩm định.")
        }
        (R::Submit, _) => refuse("Học liệu đã được gửi thẩm định."),
        (R::Endorse, S::InReview) if who.is_group_head && !who.is_author => Ok(S::Endorsed),
        (R::Endorse, S::InReview) if who.is_group_head => refuse(
            "Tổ trưởng không tự thẩm định học liệu của mình; hiệu trưởng hoặc tổ trưởng khác thẩm định.",
        ),
        // A principal may take the group's step when the author is the group head.
        (R::Endorse, S::InReview) if who.is_principal => Ok(S::Endorsed),
        (R::Endorse, _) => {
            refuse("Chỉ học liệu đang chờ thẩm định mới được tổ chuyên môn thông qua.")
        }
        (R::Approve, S::Endorsed) if who.is_principal => Ok(S::Approved),
        (R::Approve, S::Endorsed) => refuse("Chỉ hiệu trưởng phê duyệt học liệu."),
        (R::Approve, _) => {
            refuse("Học liệu phải được tổ chuyên môn thông qua trước khi phê duyệt.")
        }
        (R::Return, S::InReview) if (who.is_group_head || who.is_principal) && !who.is_author => {
            Ok(S::Returned)
        }
        (R::Return, S::Endorsed) if who.is_principal => Ok(S::Returned),
        (R::Return, S::InReview | S::Endorsed) => {
            refuse("Bạn không có quyền trả lại học liệu này.")
        }
        (R::Return, _) => refuse("Chỉ trả lại được học liệu đang chờ thẩm định hoặc phê duyệt."),
    }
}

/// What happens to work handed in after the due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatePolicy {
    /// Accepted and marked late.
    AcceptLate,
    /// Refused after the due time.
    Refuse,
}

impl LatePolicy {
    /// Every policy.
    pub const ALL: [Self; 2] = [Self::AcceptLate, Self::Refuse];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::AcceptLate => "accept_late",
            Self::Refuse => "refuse",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::AcceptLate => "Nhận bài nộp muộn (đánh dấu muộn)",
            Self::Refuse => "Không nhận bài sau hạn",
        }
    }
}

/// Whether a hand-in at `now` is accepted, and whether it is late.
pub fn hand_in(
    now_ms: i64,
    opens_at: i64,
    due_at: Option<i64>,
    policy: LatePolicy,
) -> Result<bool, Invalid> {
    if now_ms < opens_at {
        return Err(Invalid("Bài tập chưa mở, chưa nộp được.".into()));
    }
    match due_at {
        Some(due) if now_ms > due => match policy {
            LatePolicy::AcceptLate => Ok(true),
            LatePolicy::Refuse => Err(Invalid(
                "Đã quá hạn nộp và giáo viên không nhận bài nộp muộn.".into(),
            )),
        },
        _ => Ok(false),
    }
}

/// A homework score: 0–10 with at most one decimal, stored in tenths.
pub fn parse_score_tenths(raw: &str) -> Result<i64, Invalid> {
    let s = raw.trim().replace(',', ".");
    let bad = || {
        Invalid(format!(
            "Điểm \"{}\" không hợp lệ: nhập số từ 0 đến 10, tối đa một chữ số thập phân (ví dụ 8,5).",
            raw.trim()
        ))
    };
    if s.is_empty() {
        return Err(bad());
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s.as_str(), ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 1
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 2
    {
        return Err(bad());
    }
    let tenths = int.parse::<i64>().map_err(|_| bad())? * 10 + frac.parse::<i64>().unwrap_or(0);
    if tenths > 100 {
        return Err(bad());
    }
    Ok(tenths)
}

/// Formats tenths as a Vietnamese score: `85` → `8,5`, `70` → `7`.
pub fn format_tenths(t: i64) -> String {
    if t % 10 == 0 {
        format!("{}", t / 10)
    } else {
        format!("{},{}", t / 10, t % 10)
    }
}

/// Share watched of a video in whole percent, capped at 100.
pub fn watched_percent(watched_s: i64, duration_s: i64) -> i64 {
    if duration_s <= 0 {
        return 0;
    }
    (watched_s.max(0) * 100 / duration_s).min(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHOR: Reviewer = Reviewer {
        is_author: true,
        is_group_head: false,
        is_principal: false,
    };
    const HEAD: Reviewer = Reviewer {
        is_author: false,
        is_group_head: true,
        is_principal: false,
    };
    const PRINCIPAL: Reviewer = Reviewer {
        is_author: false,
        is_group_head: false,
        is_principal: true,
    };

    #[test]
    fn the_review_goes_author_group_principal() {
        use MaterialStatus as S;
        use ReviewStep as R;
        let s = review_transition(S::Draft, R::Submit, AUTHOR).unwrap();
        assert_eq!(s, S::InReview);
        let s = review_transition(s, R::Endorse, HEAD).unwrap();
        assert_eq!(s, S::Endorsed);
        let s = review_transition(s, R::Approve, PRINCIPAL).unwrap();
        assert_eq!(s, S::Approved);
    }

    #[test]
    fn steps_out_of_turn_are_refused() {
        use MaterialStatus as S;
        use ReviewStep as R;
        // The principal cannot approve before the group has reviewed.
        assert!(review_transition(S::InReview, R::Approve, PRINCIPAL).is_err());
        // A teacher cannot approve.
        assert!(review_transition(S::Endorsed, R::Approve, HEAD).is_err());
        // Only the author submits.
        assert!(review_transition(S::Draft, R::Submit, HEAD).is_err());
        // A group head does not endorse their own material.
        let own = Reviewer {
            is_author: true,
            is_group_head: true,
            is_principal: false,
        };
        assert!(review_transition(S::InReview, R::Endorse, own).is_err());
        // Returned work goes back to review when resubmitted.
        let s = review_transition(S::InReview, R::Return, HEAD).unwrap();
        assert_eq!(s, S::Returned);
        assert_eq!(
            review_transition(s, R::Submit, AUTHOR).unwrap(),
            S::InReview
        );
        assert!(review_transition(S::Approved, R::Return, PRINCIPAL).is_err());
    }

    #[test]
    fn online_share_counts_only_replacing_lessons() {
        assert!(LessonForm::OnlineReplace.counts_online());
        assert!(!LessonForm::OnlineSupport.counts_online());
        assert_eq!(online_share_permille(14, 140), Some(100));
        assert_eq!(online_share_permille(1, 3), Some(333));
        assert_eq!(online_share_permille(2, 3), Some(667));
        assert_eq!(online_share_permille(0, 0), None);
        assert_eq!(format_permille(123), "12,3 %");
    }

    #[test]
    fn scores_take_a_decimal_comma_and_stay_in_range() {
        assert_eq!(parse_score_tenths("8,5").unwrap(), 85);
        assert_eq!(parse_score_tenths(" 10 ").unwrap(), 100);
        assert_eq!(parse_score_tenths("0").unwrap(), 0);
        assert_eq!(parse_score_tenths("7.0").unwrap(), 70);
        for bad in ["11", "-1", "7,55", "abc", "", "10.5", ",5", "1e1"] {
            assert!(parse_score_tenths(bad).is_err(), "{bad}");
        }
        assert_eq!(format_tenths(85), "8,5");
        assert_eq!(format_tenths(70), "7");
    }

    #[test]
    fn late_work_follows_the_policy() {
        assert!(!hand_in(50, 0, Some(100), LatePolicy::Refuse).unwrap());
        assert!(hand_in(150, 0, Some(100), LatePolicy::Refuse).is_err());
        assert!(hand_in(150, 0, Some(100), LatePolicy::AcceptLate).unwrap());
        assert!(hand_in(5, 10, None, LatePolicy::AcceptLate).is_err());
        assert!(!hand_in(1_000, 10, None, LatePolicy::Refuse).unwrap());
    }

    #[test]
    fn watched_share_is_capped() {
        assert_eq!(watched_percent(30, 60), 50);
        assert_eq!(watched_percent(90, 60), 100);
        assert_eq!(watched_percent(10, 0), 0);
    }
}
